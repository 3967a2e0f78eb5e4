import CaravanCore
import CaravanEnvelope
import NIOCore

/// What a client connection keeps for one open call.
struct ClientCall {
    enum Sink {
        case unary(UnsafeContinuation<[UInt8], any Error>)
        case stream(RawMessageStream.Continuation)
    }

    let sink: Sink
    var timer: Scheduled<Void>?

    func fail(_ error: RPCError) {
        self.timer?.cancel()
        switch self.sink {
        case .unary(let continuation): continuation.resume(throwing: error)
        case .stream(let continuation): continuation.finish(throwing: error)
        }
    }
}

/// A REQUEST to send: its header without the timeout, its first message.
struct OutboundRequest: Sendable {
    let header: RequestHeaderTemplate
    let payload: [UInt8]?
    let flags: FrameFlags
}

/// The channel handler of one client connection: feeds its
/// ``ClientConnectionStateMachine`` the frames, timers and the callers'
/// requests, and performs what it returns. Event-loop confined;
/// ``ClientConnection`` is its thread-safe face.
final class ClientConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = InboundFrame
    typealias OutboundOut = ByteBuffer
    typealias StateMachine = ClientConnectionStateMachine<ClientCall>

    private let configuration: ClientConfiguration
    /// Tells the pool once that this connection takes no new calls, and why.
    private let onUnusable: @Sendable (StateMachine.Unusable) -> Void
    private var reportedUnusable = false
    private var state: StateMachine?
    private var context: ChannelHandlerContext?
    /// Why the channel failed, for the calls it takes down (e.g. a TLS alert).
    private var failure: (any Error)?
    private let writer = FrameWriteBatcher()
    private var housekeeping: RepeatedTask?

    init(configuration: ClientConfiguration, onUnusable: @escaping @Sendable (StateMachine.Unusable) -> Void) {
        self.configuration = configuration
        self.onUnusable = onUnusable
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        let liveness = ConnectionLiveness(
            keepaliveInterval: self.configuration.keepaliveInterval.nio,
            keepaliveTimeout: self.configuration.keepaliveTimeout.nio, idleTimeout: nil, now: context.eventLoop.now)
        self.state = StateMachine(liveness: liveness)
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        self.housekeeping = context.eventLoop.scheduleRepeatedTask(
            initialDelay: liveness.tickInterval, delay: liveness.tickInterval
        ) { _ in
            loopBound.value.tick()
        }
    }

    // MARK: Calls from the caller's side

    /// Opens a call: gives it an id, writes its REQUEST (built here, once,
    /// with that id and the time left), arms its deadline.
    func start(_ request: OutboundRequest, sink: ClientCall.Sink, slot: NIOLoopBoundBox<UInt32?>) {
        let call = ClientCall(sink: sink)
        guard slot.value != CallSlot.cancelled else {
            call.fail(RPCError(code: .cancelled, message: "The call was cancelled.", cause: CallNeverSent("cancelled")))
            return
        }
        guard let context = self.context, let (verdict, spentIDs) = self.state?.startCall(call) else {
            call.fail(RPCError(code: .unavailable, message: "The connection closed.", cause: CallNeverSent("closed")))
            return
        }
        switch verdict {
        case .refuse(let error):
            // A connection already closed (a keepalive timeout, a reset) says why it was lost.
            let closed = self.state?.phase == .closed
            call.fail(
                closed ? RPCError(code: .unavailable, message: self.lostMessage, cause: CallNeverSent("closed")) : error
            )
        case .send(let callID):
            slot.value = callID
            if let deadline = request.header.deadline {
                let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
                let timer = context.eventLoop.scheduleTask(at: deadline) { loopBound.value.expire(callID) }
                self.state!.update(callID) { $0.timer = timer }
            }
            let size = WireFormat.prefixSize + request.header.untimedCount + 11 + (request.payload?.count ?? 0)
            var frame = context.channel.allocator.buffer(capacity: size)
            frame.writeRequestFrame(
                callID: callID, flags: request.flags, header: request.header, payload: request.payload, now: .now)
            self.write(frame)
            if spentIDs { self.reportUnusable(.lost) }
        }
    }

    /// Writes a MESSAGE (or END_OF_STREAM when `message` is nil) of an open
    /// streaming call; fails when the call has ended.
    func send(_ message: [UInt8]?, endStream: Bool, slot: NIOLoopBoundBox<UInt32?>) -> EventLoopFuture<Void> {
        let eventLoop = slot.eventLoop
        guard let context = self.context, let callID = slot.value, callID != CallSlot.cancelled,
            self.state?.call(callID) != nil
        else {
            return eventLoop.makeFailedFuture(RPCError(code: .cancelled, message: "The call has ended."))
        }
        var frame = context.channel.allocator.buffer(capacity: WireFormat.prefixSize + (message?.count ?? 0))
        if let message {
            frame.writeFrame(
                kind: .message, flags: endStream ? [.hasMessage, .endStream] : .hasMessage, callID: callID,
                payload: message)
        } else {
            frame.writeFrame(kind: .endOfStream, callID: callID)
        }
        let promise = eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(Self.wrapOutboundOut(frame), promise: promise)
        return promise.futureResult
    }

    /// The caller gave up: tell the server, fail the call as CANCELLED.
    func cancel(slot: NIOLoopBoundBox<UInt32?>) {
        guard let callID = slot.value else {
            slot.value = CallSlot.cancelled
            return
        }
        self.abandon(callID, with: RPCError(code: .cancelled, message: "The call was cancelled."))
    }

    private func expire(_ callID: UInt32) {
        self.abandon(
            callID, with: RPCError(code: .deadlineExceeded, message: "The deadline passed before the server answered."))
    }

    private func abandon(_ callID: UInt32, with error: RPCError) {
        guard let context = self.context, let (call, thenClose) = self.state?.abandon(callID) else { return }
        call.fail(error)
        var cancel = context.channel.allocator.buffer(capacity: WireFormat.prefixSize)
        cancel.writeFrame(kind: .cancel, callID: callID)
        self.write(cancel)
        if thenClose { self.closeAfterFlush() }
    }

    /// Stops taking calls; closes once the open ones have finished.
    func close() {
        guard let context = self.context, let (goAway, closeNow) = self.state?.closeRequested() else { return }
        self.reportUnusable(.lost)
        if let goAway {
            var buffer = context.channel.allocator.buffer(capacity: 64)
            FrameHeaders.writeGoAway(code: .ok, message: "The client is closing.", lastCallID: goAway, into: &buffer)
            self.write(buffer)
        }
        if closeNow { self.closeAfterFlush() }
    }

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        self.writer.beginRead()
        switch Self.unwrapInboundIn(data) {
        case .frame(let frame):
            self.handle(frame, context: context)
        case .oversized(let kind, _, let callID, let length):
            let error = RPCError(
                code: .resourceExhausted,
                message:
                    "The server sent a \(kind) frame of \(length) bytes; the limit is \(self.configuration.maxFrameSize)."
            )
            if self.state?.call(callID) != nil {
                self.abandon(callID, with: error)
            } else {
                context.close(promise: nil)
            }
        }
    }

    private func handle(_ frame: Frame, context: ChannelHandlerContext) {
        switch frame.kind {
        case .response:
            guard let (call, thenClose) = self.state?.responseReceived(frame.callID) else { return }
            call.timer?.cancel()
            ClientResponse.complete(call.sink, with: frame)
            if thenClose { self.closeAfterFlush() }
        case .message:
            if case .stream(let continuation) = self.state?.call(frame.callID)?.sink, frame.flags.contains(.hasMessage)
            {
                continuation.yield(Array(frame.payload.readableBytesView))
            }
        case .ping:
            var pong = context.channel.allocator.buffer(capacity: WireFormat.prefixSize + frame.payload.readableBytes)
            frame.payload.withUnsafeReadableBytes {
                pong.writeFrame(kind: .pong, flags: [], callID: 0, header: nil, payload: $0)
            }
            self.write(pong)
        case .pong:
            break
        case .goAway:
            self.receiveGoAway(lastCallID: frame.callID, header: frame.header)
        default:
            context.close(promise: nil)
        }
    }

    private func receiveGoAway(lastCallID: UInt32, header: ByteBuffer) {
        let goAway = try? FrameHeaders.decode(GoAway.self, from: header)
        let message = goAway?.message ?? ""
        guard
            let verdict = self.state?.goAwayReceived(lastCallID: lastCallID, code: goAway?.code ?? 0, message: message)
        else { return }
        self.reportUnusable(verdict.unusable)
        let why = message.isEmpty ? "" : " (\(message))"
        for call in verdict.unprocessed {
            call.fail(
                RPCError(
                    code: .unavailable, message: "The server went away before processing the call\(why).",
                    cause: CallNeverSent("GOAWAY")))
        }
        if verdict.thenClose { self.closeAfterFlush() }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        self.state?.bytesRead(at: context.eventLoop.now)
        self.writer.endRead(context: context)
        context.fireChannelReadComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.housekeeping?.cancel()
        for call in self.state?.closed() ?? [] {
            call.fail(RPCError(code: .unavailable, message: self.lostMessage))
        }
        self.reportUnusable(.lost)
        context.fireChannelInactive()
    }

    /// Why the connection's calls failed when it closed.
    private var lostMessage: String {
        let reason =
            self.state?.refusal.map { ": the server said \"\($0)\"" }
            ?? self.failure.map { ": \(ConnectionErrorDescription.describe($0))" } ?? "."
        return "The connection to the server was lost\(reason)"
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if self.failure == nil { self.failure = error }
        context.close(promise: nil)
    }

    // MARK: Housekeeping

    private func tick() {
        guard let context = self.context, let action = self.state?.tick(at: context.eventLoop.now) else { return }
        switch action {
        case .none, .idle:
            break
        case .sendPing:
            var ping = context.channel.allocator.buffer(capacity: WireFormat.prefixSize + 8)
            ping.writeFrame(kind: .ping, callID: 0, payload: [0, 0, 0, 0, 0, 0, 0, 2])
            self.write(ping)
        case .peerUnresponsive:
            self.failure = ClientConnectionError("The server did not answer a ping within the keepalive timeout.")
            context.close(promise: nil)
        }
    }

    private func reportUnusable(_ reason: StateMachine.Unusable) {
        guard !self.reportedUnusable else { return }
        self.reportedUnusable = true
        self.onUnusable(reason)
    }

    private func closeAfterFlush() {
        guard let context = self.context else { return }
        context.writeAndFlush(Self.wrapOutboundOut(context.channel.allocator.buffer(capacity: 0))).whenComplete { _ in
            context.close(promise: nil)
        }
    }

    /// Writes now; flushes once per read batch or event-loop turn.
    private func write(_ buffer: ByteBuffer) {
        guard let context = self.context, self.state?.phase != .closed else { return }
        self.writer.write(buffer, context: context)
    }
}

/// Sentinel values of a call's slot: nil before the call starts, its id
/// after, `cancelled` when the caller gave up before it started.
enum CallSlot {
    static let cancelled: UInt32 = 0
}
