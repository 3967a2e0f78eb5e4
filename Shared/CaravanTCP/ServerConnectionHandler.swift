import CaravanCore
import CaravanEnvelope
import Logging
import NIOCore

/// Serves the calls of one connection: routes each REQUEST to its handler,
/// runs handlers concurrently, and writes their answers as they finish.
///
/// Event-loop confined. A call's handler runs in its own task so that it
/// can be cancelled alone (CANCEL frame, deadline, shutdown) — a task
/// group gives no handle to one child. The connection owns those tasks:
/// it cancels them when it closes and reports ``finished`` only after the
/// last one has returned, so nothing outlives the connection.
final class ServerConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = InboundFrame
    typealias OutboundOut = ByteBuffer

    private struct Call {
        var task: Task<Void, Never>?
        var requests: RawMessageStream.Continuation?
        var deadlineTimer: Scheduled<Void>?
    }

    private let router: RPCRouter
    private let configuration: ServerConfiguration
    private let logger: Logger
    private let metrics: TransportMetrics?
    /// Frames and bytes read since the last report to ``metrics``.
    private var inbound = TrafficTally()
    /// Succeeds when the channel has closed and every call task has ended.
    let finished: EventLoopPromise<Void>

    private var context: ChannelHandlerContext?
    /// Set when handlers run on this connection's event loop.
    private var executor: EventLoopExecutor?
    private var calls: [UInt32: Call] = [:]
    private var lastCallID: UInt32 = 0
    private var liveTasks = 0
    private var isDraining = false
    private var isClosed = false
    private let writer: FrameWriteBatcher
    private var peer = "unknown"

    private var housekeeping: RepeatedTask?
    private var lastReadAt = NIODeadline.now()
    private var idleSince: NIODeadline? = .now()
    private var pingSentAt: NIODeadline?
    private var graceTimer: Scheduled<Void>?

    /// Why this connection is turned away at once (too many connections).
    private let refusal: String?

    init(
        router: RPCRouter,
        configuration: ServerConfiguration,
        logger: Logger,
        finished: EventLoopPromise<Void>,
        refusal: String? = nil,
        metrics: TransportMetrics? = nil
    ) {
        self.refusal = refusal
        self.metrics = metrics
        self.writer = FrameWriteBatcher(metrics: metrics)
        self.router = router
        self.configuration = configuration
        self.logger = logger
        self.finished = finished
    }

    // MARK: Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if self.configuration.handlerExecution == .eventLoop {
            self.executor = EventLoopExecutor(eventLoop: context.eventLoop)
        }
        if let refusal = self.refusal {
            self.isDraining = true
            if context.channel.isActive {
                self.failConnection(code: .resourceExhausted, message: refusal)
            }
            return
        }
        self.peer = context.channel.remoteAddress.map { "\($0.ipAddress ?? "?"):\($0.port ?? 0)" } ?? "unknown"
        let tick = max(
            .milliseconds(10),
            min(self.configuration.keepaliveInterval, self.configuration.idleTimeout) / 4
        )
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        self.housekeeping = context.eventLoop.scheduleRepeatedTask(initialDelay: tick.nio, delay: tick.nio) { _ in
            loopBound.value.checkTimers()
        }
    }

    func channelActive(context: ChannelHandlerContext) {
        if let refusal = self.refusal {
            self.failConnection(code: .resourceExhausted, message: refusal)
        }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard self.refusal == nil else { return }
        self.writer.beginRead()
        switch Self.unwrapInboundIn(data) {
        case .frame(let frame):
            self.inbound.framesIn += 1
            self.inbound.bytesIn += WireFormat.prefixSize + frame.header.readableBytes + frame.payload.readableBytes
            self.handle(frame)
        case .oversized(let kind, _, let callID, let length):
            self.inbound.framesIn += 1
            self.inbound.bytesIn += 4 + Int(length)
            self.metrics?.rejected(.frameTooLarge)
            self.handleOversized(kind: kind, callID: callID, length: length)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        self.lastReadAt = .now()
        self.pingSentAt = nil
        self.writer.endRead(context: context)
        if let metrics = self.metrics { self.inbound.flushIn(to: metrics) }
        context.fireChannelReadComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.isClosed = true
        self.housekeeping?.cancel()
        self.graceTimer?.cancel()
        for (_, call) in self.calls {
            call.deadlineTimer?.cancel()
            call.task?.cancel()
            call.requests?.finish(throwing: RPCError(code: .cancelled, message: "The connection closed."))
        }
        self.calls.removeAll()
        if let metrics = self.metrics { self.inbound.flushIn(to: metrics) }
        self.writer.reportUnflushed()
        self.completeIfDone()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let error = error as? FrameProtocolError {
            self.metrics?.rejected(.badFrame)
            self.failConnection(code: .internal, message: error.message)
        } else {
            self.logger.debug("Connection error", metadata: ["peer": "\(self.peer)", "error": "\(error)"])
            context.close(promise: nil)
        }
    }

    // MARK: Frames

    private func handle(_ frame: Frame) {
        switch frame.kind {
        case .request:
            self.startCall(frame)
        case .message:
            self.receiveMessage(frame)
        case .endOfStream:
            if let call = self.calls[frame.callID] { call.requests?.finish() }
        case .cancel:
            self.cancelCall(frame.callID)
        case .ping:
            var pong = self.allocateBuffer(capacity: WireFormat.prefixSize + frame.payload.readableBytes)
            frame.payload.withUnsafeReadableBytes { data in
                pong.writeFrame(kind: .pong, flags: [], callID: 0, header: nil, payload: data)
            }
            self.write(pong)
        case .pong:
            break  // any inbound bytes count as liveness (channelReadComplete)
        case .goAway:
            // The client is leaving; its open calls finish normally.
            self.isDraining = true
            self.closeIfDrained()
        default:
            self.metrics?.rejected(.badFrame)
            self.failConnection(code: .internal, message: "Unexpected \(frame.kind) frame from a client.")
        }
    }

    private func startCall(_ frame: Frame) {
        let callID = frame.callID
        guard callID > self.lastCallID else {
            self.metrics?.rejected(.badFrame)
            self.failConnection(
                code: .internal,
                message: "Call id \(callID) is not greater than the last one (\(self.lastCallID)); ids must increase."
            )
            return
        }
        self.lastCallID = callID
        if self.isDraining {
            self.metrics?.rejected(.shuttingDown)
            self.reject(callID, RPCError(code: .unavailable, message: "The server is shutting down; call not processed."))
            return
        }
        guard self.calls.count < self.configuration.maxConcurrentCallsPerConnection else {
            self.metrics?.rejected(.concurrencyLimit)
            self.reject(
                callID,
                RPCError(
                    code: .resourceExhausted,
                    message: "Too many concurrent calls on this connection (limit \(self.configuration.maxConcurrentCallsPerConnection))."
                ))
            return
        }
        let header: RequestHeader
        do {
            header = try FrameHeaders.decode(RequestHeader.self, from: frame.header)
        } catch {
            self.metrics?.rejected(.badRequest)
            self.reject(callID, RPCError(code: .invalidArgument, message: "Malformed request header: \(error)"))
            return
        }
        let metadata = FrameHeaders.metadata(header.metadata)
        if metadata.encodedSize > self.configuration.maxMetadataSize {
            self.metrics?.rejected(.metadataTooLarge)
            self.reject(
                callID,
                RPCError(
                    code: .resourceExhausted,
                    message: "Request metadata of \(metadata.encodedSize) bytes exceeds the limit of \(self.configuration.maxMetadataSize)."
                ))
            return
        }
        if let bad = metadata.first(where: { !Metadata.isValidKey($0.key) }) {
            self.metrics?.rejected(.badRequest)
            self.reject(callID, RPCError(code: .invalidArgument, message: "Invalid metadata key \"\(bad.key)\"."))
            return
        }
        guard let route = self.router.route(forPath: header.method) else {
            self.metrics?.rejected(.unknownMethod)
            self.reject(callID, RPCError(code: .unimplemented, message: "Unknown method \(header.method)."))
            return
        }
        var deadline: ContinuousClock.Instant?
        if header.timeoutMicros > 0 {
            let micros = min(header.timeoutMicros, UInt64(Int64.max / 1000))
            deadline = ContinuousClock.now.advanced(by: .microseconds(Int64(micros)))
        }
        let serverContext = ServerContext(
            descriptor: route.descriptor,
            metadata: metadata,
            deadline: deadline,
            idempotencyKey: header.idempotencyKey.isEmpty ? nil : header.idempotencyKey,
            trace: header.traceparent.isEmpty
                ? nil : TraceContext(traceparent: header.traceparent, tracestate: header.tracestate),
            peer: self.peer,
            callID: callID
        )
        let firstMessage = frame.flags.contains(.hasMessage) ? Array(frame.payload.readableBytesView) : nil
        var call = Call()
        switch route.handler {
        case .unary(let handler):
            guard let request = firstMessage else {
                self.metrics?.rejected(.badRequest)
                self.reject(callID, Self.missingMessage(route.descriptor))
                return
            }
            call.task = self.spawnUnary(callID: callID, context: serverContext) { router, context in
                await router.handleUnary(handler, request: request, context: context)
            }
        case .serverStreaming(let handler):
            guard let request = firstMessage else {
                self.metrics?.rejected(.badRequest)
                self.reject(callID, Self.missingMessage(route.descriptor))
                return
            }
            let writer = self.messageWriter(callID: callID)
            call.task = self.spawnStreaming(callID: callID, context: serverContext) { context in
                try await handler(request, writer, context)
            }
        case .clientStreaming(let handler):
            let (requests, continuation) = RawMessageStream.makeStream()
            call.requests = continuation
            call.task = self.spawnUnary(callID: callID, context: serverContext) { router, context in
                await router.handleUnary({ _, context in try await handler(requests, context) }, request: [], context: context)
            }
        case .bidirectionalStreaming(let handler):
            let (requests, continuation) = RawMessageStream.makeStream()
            call.requests = continuation
            let writer = self.messageWriter(callID: callID)
            call.task = self.spawnStreaming(callID: callID, context: serverContext) { context in
                try await handler(requests, writer, context)
            }
        }
        if let continuation = call.requests {
            if let firstMessage { continuation.yield(firstMessage) }
            if frame.flags.contains(.endStream) { continuation.finish() }
        }
        if let deadline {
            let loopBound = NIOLoopBound(self, eventLoop: self.context!.eventLoop)
            call.deadlineTimer = self.context!.eventLoop.scheduleTask(deadline: deadline.nioDeadline) {
                loopBound.value.expire(callID)
            }
        }
        self.calls[callID] = call
        self.idleSince = nil
    }

    private static func missingMessage(_ descriptor: MethodDescriptor) -> RPCError {
        RPCError(code: .invalidArgument, message: "\(descriptor.path) needs a request message in its REQUEST frame.")
    }

    private func receiveMessage(_ frame: Frame) {
        guard let call = self.calls[frame.callID] else { return }  // ended already: a race, not an error
        guard let requests = call.requests else {
            self.endCall(
                frame.callID,
                with: RPCError(code: .invalidArgument, message: "This method takes a single request message."))
            return
        }
        if frame.flags.contains(.hasMessage) {
            requests.yield(Array(frame.payload.readableBytesView))
        }
        if frame.flags.contains(.endStream) {
            requests.finish()
        }
    }

    private func handleOversized(kind: FrameKind, callID: UInt32, length: UInt32) {
        let error = RPCError(
            code: .resourceExhausted,
            message: "A \(kind) frame of \(length) bytes exceeds the limit of \(self.configuration.maxFrameSize) bytes."
        )
        switch kind {
        case .request where callID > self.lastCallID:
            self.lastCallID = callID
            self.reject(callID, error)
        case .message where self.calls[callID] != nil:
            self.endCall(callID, with: error)
        default:
            self.failConnection(code: .resourceExhausted, message: error.message)
        }
    }

    // MARK: Running handlers

    private func spawnUnary(
        callID: UInt32,
        context serverContext: ServerContext,
        _ run: @escaping @Sendable (RPCRouter, ServerContext) async -> Result<[UInt8], RPCError>
    ) -> Task<Void, Never> {
        let router = self.router
        let allocator = self.context!.channel.allocator
        let eventLoop = self.context!.eventLoop
        let loopBound = NIOLoopBound(self, eventLoop: eventLoop)
        self.liveTasks += 1
        return Task(executorPreference: self.executor) {
            let result = await run(router, serverContext)
            var buffer: ByteBuffer
            switch result {
            case .success(let response):
                buffer = allocator.buffer(capacity: WireFormat.prefixSize + response.count)
                buffer.writeFrame(kind: .response, flags: .hasMessage, callID: callID, payload: response)
            case .failure(let error):
                buffer = allocator.buffer(capacity: 64 + error.message.utf8.count)
                FrameHeaders.writeErrorResponse(error, callID: callID, into: &buffer)
            }
            if eventLoop.inEventLoop {
                loopBound.value.finishCall(callID, response: buffer)
            } else {
                eventLoop.execute { loopBound.value.finishCall(callID, response: buffer) }
            }
        }
    }

    private func spawnStreaming(
        callID: UInt32,
        context serverContext: ServerContext,
        _ run: @escaping @Sendable (ServerContext) async throws -> Void
    ) -> Task<Void, Never> {
        let router = self.router
        let allocator = self.context!.channel.allocator
        let eventLoop = self.context!.eventLoop
        let loopBound = NIOLoopBound(self, eventLoop: eventLoop)
        self.liveTasks += 1
        return Task(executorPreference: self.executor) {
            let error = await router.handle(context: serverContext, run)
            var buffer = allocator.buffer(capacity: 64)
            if let error {
                FrameHeaders.writeErrorResponse(error, callID: callID, into: &buffer)
            } else {
                buffer.writeFrame(kind: .response, callID: callID)
            }
            eventLoop.execute { loopBound.value.finishCall(callID, response: buffer) }
        }
    }

    private func messageWriter(callID: UInt32) -> RawMessageWriter {
        let allocator = self.context!.channel.allocator
        let eventLoop = self.context!.eventLoop
        let loopBound = NIOLoopBound(self, eventLoop: eventLoop)
        return RawMessageWriter { bytes in
            var buffer = allocator.buffer(capacity: WireFormat.prefixSize + bytes.count)
            buffer.writeFrame(kind: .message, flags: .hasMessage, callID: callID, payload: bytes)
            try await eventLoop.flatSubmit { loopBound.value.writeStreamMessage(callID, buffer) }.get()
        }
    }

    private func writeStreamMessage(_ callID: UInt32, _ buffer: ByteBuffer) -> EventLoopFuture<Void> {
        guard let context = self.context, self.calls[callID] != nil else {
            return self.context!.eventLoop.makeFailedFuture(
                RPCError(code: .cancelled, message: "The call has ended."))
        }
        let promise = context.eventLoop.makePromise(of: Void.self)
        self.metrics?.wroteFrame(bytes: buffer.readableBytes)
        context.writeAndFlush(Self.wrapOutboundOut(buffer), promise: promise)
        return promise.futureResult
    }

    /// A handler task has returned; write its answer unless the call ended
    /// meanwhile (cancelled, expired, connection closing).
    private func finishCall(_ callID: UInt32, response: ByteBuffer) {
        self.liveTasks -= 1
        if let call = self.calls.removeValue(forKey: callID) {
            call.deadlineTimer?.cancel()
            self.write(response)
            self.callEnded()
        }
        self.completeIfDone()
    }

    private func expire(_ callID: UInt32) {
        self.endCall(callID, with: RPCError(code: .deadlineExceeded, message: "The deadline passed before the call finished."))
    }

    /// Ends a call now with `error`, cancelling its handler.
    private func endCall(_ callID: UInt32, with error: RPCError) {
        guard let call = self.calls.removeValue(forKey: callID) else { return }
        call.deadlineTimer?.cancel()
        call.task?.cancel()
        call.requests?.finish(throwing: error)
        self.reject(callID, error)
        self.callEnded()
    }

    private func cancelCall(_ callID: UInt32) {
        guard let call = self.calls.removeValue(forKey: callID) else { return }  // unknown or ended: ignore
        call.deadlineTimer?.cancel()
        call.task?.cancel()
        call.requests?.finish(throwing: RPCError(code: .cancelled, message: "The client cancelled the call."))
        self.callEnded()
    }

    private func reject(_ callID: UInt32, _ error: RPCError) {
        var buffer = self.allocateBuffer(capacity: 64 + error.message.utf8.count)
        FrameHeaders.writeErrorResponse(error, callID: callID, into: &buffer)
        self.write(buffer)
    }

    private func callEnded() {
        if self.calls.isEmpty {
            self.idleSince = .now()
            self.closeIfDrained()
        }
    }

    // MARK: Writing

    private func allocateBuffer(capacity: Int) -> ByteBuffer {
        self.context!.channel.allocator.buffer(capacity: capacity)
    }

    /// Writes now; flushes once per read batch or event-loop turn, so that
    /// many answers share one system call.
    private func write(_ buffer: ByteBuffer) {
        guard let context = self.context, !self.isClosed else { return }
        self.writer.write(buffer, context: context)
    }

    // MARK: Connection lifecycle

    /// Graceful shutdown: GOAWAY with the last call accepted, let open calls
    /// finish within `grace`, then close.
    func drain(grace: Duration) {
        guard !self.isClosed, !self.isDraining else { return }
        self.isDraining = true
        self.sendGoAway(code: .ok, message: "The server is shutting down.")
        if self.closeIfDrained() { return }
        let loopBound = NIOLoopBound(self, eventLoop: self.context!.eventLoop)
        self.graceTimer = self.context!.eventLoop.scheduleTask(in: grace.nio) {
            let handler = loopBound.value
            for callID in Array(handler.calls.keys) {
                handler.endCall(
                    callID, with: RPCError(code: .unavailable, message: "The server shut down before the call finished."))
            }
            handler.context?.close(promise: nil)
        }
    }

    @discardableResult
    private func closeIfDrained() -> Bool {
        guard self.isDraining, self.calls.isEmpty, let context = self.context, !self.isClosed else { return false }
        context.writeAndFlush(Self.wrapOutboundOut(self.allocateBuffer(capacity: 0))).whenComplete { _ in
            context.close(promise: nil)
        }
        return true
    }

    private func sendGoAway(code: StatusCode, message: String) {
        var goAway = GoAway()
        goAway.code = code.rawValue
        goAway.message = message
        var buffer = self.allocateBuffer(capacity: 64 + message.utf8.count)
        buffer.writeFrame(kind: .goAway, callID: self.lastCallID, header: (try? goAway.serializedBytes()) ?? [])
        self.write(buffer)
    }

    /// A protocol violation: say why in a GOAWAY, then close.
    private func failConnection(code: StatusCode, message: String) {
        guard let context = self.context, !self.isClosed else { return }
        self.logger.debug("Closing connection", metadata: ["peer": "\(self.peer)", "reason": "\(message)"])
        self.sendGoAway(code: code, message: message)
        context.flush()
        context.close(promise: nil)
    }

    private func checkTimers() {
        guard let context = self.context, !self.isClosed else { return }
        let now = NIODeadline.now()
        if let idleSince = self.idleSince, now - idleSince >= self.configuration.idleTimeout.nio, !self.isDraining {
            self.isDraining = true
            self.sendGoAway(code: .ok, message: "Idle for longer than the idle timeout.")
            self.closeIfDrained()
            return
        }
        if let pingSentAt = self.pingSentAt {
            if now - pingSentAt >= self.configuration.keepaliveTimeout.nio {
                self.logger.debug("Keepalive timeout", metadata: ["peer": "\(self.peer)"])
                context.close(promise: nil)
            }
        } else if now - self.lastReadAt >= self.configuration.keepaliveInterval.nio {
            self.pingSentAt = now
            var ping = self.allocateBuffer(capacity: WireFormat.prefixSize + 8)
            ping.writeFrame(kind: .ping, callID: 0, payload: [0, 0, 0, 0, 0, 0, 0, 1])
            self.write(ping)
        }
    }

    private func completeIfDone() {
        if self.isClosed && self.liveTasks == 0 {
            self.finished.succeed(())
        }
    }
}
