import CaravanCore
import Logging
import NIOCore

/// The channel handler of one server connection: feeds its
/// ``ServerConnectionStateMachine`` the frames, timers and handler results,
/// and performs the actions it returns. Event-loop confined.
///
/// It owns the calls' tasks: when the channel closes it cancels them and reports
/// ``finished`` only after the last one has returned, so nothing outlives the connection.
final class ServerConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = InboundFrame
    typealias OutboundOut = ByteBuffer
    typealias StateMachine = ServerConnectionStateMachine<ServerCallHandle>

    private let router: RPCRouter
    private let configuration: ServerConfiguration
    private let logger: Logger
    private let metrics: TransportMetrics?
    /// Why this connection is turned away at once (too many connections).
    private let refusal: String?
    /// When a frame arrived (tests put arrivals in the past).
    private let clock: @Sendable () -> ContinuousClock.Instant
    /// Succeeds when the channel has closed and every call task has ended.
    let finished: EventLoopPromise<Void>

    private var state: StateMachine?
    private var context: ChannelHandlerContext?
    private var runner: ServerCallRunner?
    private var liveTasks = 0
    private var isClosed = false
    private let writer: FrameWriteBatcher
    /// Frames and bytes read since the last report to ``metrics``.
    private var inbound = TrafficTally()
    private var housekeeping: RepeatedTask?
    private var graceTimer: Scheduled<Void>?
    private var refused = false
    /// Set once the output is closed; inbound bytes are then dropped.
    private var lingering = false

    init(
        router: RPCRouter, configuration: ServerConfiguration, logger: Logger, finished: EventLoopPromise<Void>,
        refusal: String? = nil, metrics: TransportMetrics? = nil,
        clock: @escaping @Sendable () -> ContinuousClock.Instant = { .now }
    ) {
        self.clock = clock
        self.router = router
        self.configuration = configuration
        self.logger = logger
        self.finished = finished
        self.refusal = refusal
        self.metrics = metrics
        self.writer = FrameWriteBatcher(metrics: metrics)
    }

    // MARK: Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        let peer = context.channel.remoteAddress.map { "\($0.ipAddress ?? "?"):\($0.port ?? 0)" } ?? "unknown"
        let liveness = ConnectionLiveness(
            keepaliveInterval: self.configuration.keepaliveInterval.nio,
            keepaliveTimeout: self.configuration.keepaliveTimeout.nio,
            idleTimeout: self.configuration.idleTimeout.nio, now: context.eventLoop.now)
        self.state = StateMachine(
            router: self.router, limits: self.configuration.limits, liveness: liveness, peer: peer)
        self.runner = ServerCallRunner(
            router: self.router, handler: NIOLoopBound(self, eventLoop: context.eventLoop),
            allocator: context.channel.allocator, onEventLoop: self.configuration.handlerExecution == .eventLoop)
        if self.refusal != nil {
            if context.channel.isActive { self.refuseConnection() }
            return
        }
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        self.housekeeping = context.eventLoop.scheduleRepeatedTask(
            initialDelay: liveness.tickInterval, delay: liveness.tickInterval
        ) { _ in
            let handler = loopBound.value
            handler.perform(handler.state!.tick(at: handler.context!.eventLoop.now))
        }
    }

    func channelActive(context: ChannelHandlerContext) {
        if self.refusal != nil { self.refuseConnection() }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard self.refusal == nil, !self.lingering else { return }
        self.writer.beginRead()
        switch Self.unwrapInboundIn(data) {
        case .frame(let frame):
            self.inbound.framesIn += 1
            self.inbound.bytesIn += WireFormat.prefixSize + frame.header.readableBytes + frame.payload.readableBytes
            self.perform(self.state!.frameReceived(frame, arrival: self.clock()))
        case .oversized(let kind, _, let callID, let length):
            self.inbound.framesIn += 1
            self.inbound.bytesIn += 4 + Int(length)
            self.perform(self.state!.oversizedReceived(kind: kind, callID: callID, length: length))
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        self.state?.bytesRead(at: context.eventLoop.now)
        self.writer.endRead(context: context)
        if let metrics = self.metrics { self.inbound.flushIn(to: metrics) }
        context.fireChannelReadComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.isClosed = true
        self.runner = nil  // it refers back to this handler; running calls keep their own reference
        self.housekeeping?.cancel()
        self.graceTimer?.cancel()
        for handle in self.state?.closed() ?? [] {
            handle.stop(RPCError(code: .cancelled, message: "The connection closed."))
        }
        if let metrics = self.metrics { self.inbound.flushIn(to: metrics) }
        self.writer.reportUnflushed()
        self.completeIfDone()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let error = error as? FrameProtocolError {
            self.perform(.failConnection(.internal, error.message, .badFrame))
        } else {
            self.logger.debug("Connection error", metadata: ["error": "\(error)"])
            context.close(promise: nil)
        }
    }

    // MARK: Actions

    private func perform(_ action: StateMachine.Action) {
        switch action {
        case .none:
            break
        case .start(let start):
            switch self.runner!.start(start, now: self.clock(), scheduleDeadline: self.scheduleDeadline) {
            case .success(let handle):
                self.liveTasks += 1
                self.state!.attach(handle, to: start.callID)
            case .failure(let refusal):
                self.metrics?.rejected(TransportMetrics.RejectionReason(admissionRefusal: refusal))
                self.perform(self.state!.notAdmitted(start.callID, refusal))
            }
        case .reject(let callID, let error, let reason):
            if let reason { self.metrics?.rejected(reason) }
            self.writeError(error, callID: callID)
        case .deliver(let handle, let message, let ended):
            handle?.deliver(message, ended: ended)
        case .end(let callID, let handle, let error, let thenClose):
            handle?.stop(error)
            self.writeError(error, callID: callID)
            if thenClose { self.closeAfterFlush() }
        case .cancel(let handle, let thenClose):
            handle?.stop(RPCError(code: .cancelled, message: "The client cancelled the call."))
            if thenClose { self.closeAfterFlush() }
        case .sendPong(let payload):
            self.write(kind: .pong, payload: payload)
        case .sendPing:
            self.write(kind: .ping, payload: ByteBuffer(bytes: [0, 0, 0, 0, 0, 0, 0, 1]))
        case .goAway(let message, let lastCallID, let closeNow):
            self.writeGoAway(code: .ok, message: message, lastCallID: lastCallID)
            if closeNow { self.closeAfterFlush() } else { self.startGracePeriod() }
        case .failConnection(let code, let message, let reason):
            guard !self.lingering else { return }
            if let reason { self.metrics?.rejected(reason) }
            self.logger.debug("Closing connection", metadata: ["reason": "\(message)"])
            self.writeGoAway(code: code, message: message, lastCallID: self.state?.lastCallID ?? 0)
            self.close()
        case .close:
            self.closeAfterFlush()
        }
    }

    private func scheduleDeadline(_ callID: UInt32, _ deadline: ContinuousClock.Instant) -> Scheduled<Void> {
        let loopBound = NIOLoopBound(self, eventLoop: self.context!.eventLoop)
        return self.context!.eventLoop.scheduleTask(at: deadline) {
            let handler = loopBound.value
            handler.perform(handler.state!.deadlinePassed(callID))
        }
    }

    /// A call's task has returned; write its answer unless the call ended
    /// meanwhile (cancelled, expired, connection closing).
    func callFinished(_ callID: UInt32, answer: ByteBuffer) {
        self.liveTasks -= 1
        if !self.isClosed, let open = self.state?.handlerFinished(callID) {
            open.handle?.finished()
            self.write(answer)
            if open.thenClose { self.closeAfterFlush() }
        }
        self.completeIfDone()
    }

    /// A server-streaming or bidirectional call's message, if still open.
    func streamMessage(_ callID: UInt32, _ frame: ByteBuffer) -> EventLoopFuture<Void> {
        let eventLoop = self.context!.eventLoop
        guard let context = self.context, !self.isClosed, self.state!.isOpen(callID) else {
            return eventLoop.makeFailedFuture(RPCError(code: .cancelled, message: "The call has ended."))
        }
        let promise = eventLoop.makePromise(of: Void.self)
        self.metrics?.wroteFrame(bytes: frame.readableBytes)
        context.writeAndFlush(Self.wrapOutboundOut(frame), promise: promise)
        return promise.futureResult
    }

    // MARK: Connection lifecycle

    /// Graceful shutdown: GOAWAY with the last call accepted, let open calls
    /// finish within the grace period, then close.
    func drain() {
        guard !self.isClosed else { return }
        self.perform(self.state!.drain())
    }

    private func startGracePeriod() {
        guard self.graceTimer == nil, let context = self.context else { return }
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        self.graceTimer = context.eventLoop.scheduleTask(in: self.configuration.shutdownGracePeriod.nio) {
            let handler = loopBound.value
            let error = RPCError(code: .unavailable, message: "The server shut down before the call finished.")
            for (callID, handle) in handler.state!.graceExpired() {
                handle?.stop(error)
                handler.writeError(error, callID: callID)
            }
            handler.closeAfterFlush()
        }
    }

    private func refuseConnection() {
        guard !self.refused else { return }
        self.refused = true
        self.metrics?.rejected(.connectionLimit)
        self.writeGoAway(code: .resourceExhausted, message: self.refusal!, lastCallID: 0)
        self.close()
    }

    private func closeAfterFlush() {
        guard let context = self.context, !self.isClosed else { return }
        let channel = context.channel
        context.writeAndFlush(Self.wrapOutboundOut(channel.allocator.buffer(capacity: 0))).whenComplete { _ in
            channel.close(promise: nil)
        }
    }

    /// Closes after a GOAWAY that ends the connection at once (a refusal, a
    /// protocol error): the output first, so that the GOAWAY is delivered
    /// rather than lost to a reset when the peer's unread bytes arrive, then
    /// the rest once the peer closes or a short linger ends. What the peer
    /// still sends is read and dropped.
    private func close() {
        guard let context = self.context, !self.isClosed, !self.lingering else { return }
        self.lingering = true
        context.flush()
        context.close(mode: .output, promise: nil)
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        let linger = ServerConfiguration.lingerAfterGoAway
        context.eventLoop.scheduleTask(in: linger) { loopBound.value.close(promise: nil) }
    }

    private func completeIfDone() {
        if self.isClosed && self.liveTasks == 0 { self.finished.succeed(()) }
    }

    // MARK: Writing

    private func writeError(_ error: RPCError, callID: UInt32) {
        guard let context = self.context else { return }
        var buffer = context.channel.allocator.buffer(capacity: 64 + error.message.utf8.count)
        FrameHeaders.writeErrorResponse(error, callID: callID, into: &buffer)
        self.write(buffer)
    }

    private func writeGoAway(code: StatusCode, message: String, lastCallID: UInt32) {
        guard let context = self.context else { return }
        var buffer = context.channel.allocator.buffer(capacity: 64 + message.utf8.count)
        FrameHeaders.writeGoAway(code: code, message: message, lastCallID: lastCallID, into: &buffer)
        self.write(buffer)
    }

    private func write(kind: FrameKind, payload: ByteBuffer) {
        guard let context = self.context else { return }
        var buffer = context.channel.allocator.buffer(capacity: WireFormat.prefixSize + payload.readableBytes)
        payload.withUnsafeReadableBytes { bytes in
            buffer.writeFrame(kind: kind, flags: [], callID: 0, header: nil, payload: bytes)
        }
        self.write(buffer)
    }

    /// Writes now; flushes once per read batch or event-loop turn, so that
    /// many answers share one system call.
    private func write(_ buffer: ByteBuffer) {
        guard let context = self.context, !self.isClosed else { return }
        self.writer.write(buffer, context: context)
    }
}
