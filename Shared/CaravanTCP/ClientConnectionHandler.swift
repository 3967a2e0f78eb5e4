import CaravanCore
import CaravanEnvelope
import NIOCore

/// Where a call's answer goes.
enum ClientCallSink {
    case unary(UnsafeContinuation<[UInt8], any Error>)
    case stream(RawMessageStream.Continuation)

    func fail(_ error: RPCError) {
        switch self {
        case .unary(let continuation): continuation.resume(throwing: error)
        case .stream(let continuation): continuation.finish(throwing: error)
        }
    }
}

/// The client end of one connection: assigns call ids, matches answers to
/// calls, enforces deadlines locally, answers pings and honours GOAWAY.
///
/// Event-loop confined; ``ClientConnection`` is its thread-safe face.
final class ClientConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = InboundFrame
    typealias OutboundOut = ByteBuffer

    private struct Call {
        var sink: ClientCallSink
        var timer: Scheduled<Void>?
    }

    private let configuration: ClientConfiguration
    /// Tells the pool this connection takes no new calls: `true` when the
    /// server asked us to leave in good order (GOAWAY with OK: idle or
    /// shutting down), `false` when it failed or closed.
    private let onUnusable: @Sendable (_ graceful: Bool) -> Void

    private var context: ChannelHandlerContext?
    private var calls: [UInt32: Call] = [:]
    private var nextCallID: UInt32 = 1
    private var goAwayLastCallID: UInt32?
    private var isClosed = false
    /// Why the connection failed, for the calls it takes down (e.g. a TLS alert).
    private var failure: (any Error)?
    private let writer = FrameWriteBatcher()
    private var housekeeping: RepeatedTask?
    private var lastReadAt = NIODeadline.now()
    private var pingSentAt: NIODeadline?

    init(configuration: ClientConfiguration, onUnusable: @escaping @Sendable (_ graceful: Bool) -> Void) {
        self.configuration = configuration
        self.onUnusable = onUnusable
    }

    var openCalls: Int { self.calls.count }
    var acceptsCalls: Bool { !self.isClosed && self.goAwayLastCallID == nil }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        let tick = max(.milliseconds(10), self.configuration.keepaliveInterval / 4)
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        self.housekeeping = context.eventLoop.scheduleRepeatedTask(initialDelay: tick.nio, delay: tick.nio) { _ in
            loopBound.value.checkKeepalive()
        }
    }

    // MARK: Starting and cancelling calls

    /// Sends a frame opening a call. `frame` was encoded with call id 0;
    /// the id is written here, on the event loop, so ids go out in order.
    func start(
        _ frame: ByteBuffer,
        sink: ClientCallSink,
        deadline: NIODeadline?,
        slot: NIOLoopBoundBox<UInt32?>
    ) {
        if slot.value == CallSlot.cancelled {
            sink.fail(RPCError(code: .cancelled, message: "The call was cancelled.", cause: CallNeverSent("cancelled")))
            return
        }
        guard self.acceptsCalls, let context = self.context else {
            sink.fail(
                RPCError(
                    code: .unavailable, message: "The connection is closing.",
                    cause: CallNeverSent("connection closing")))
            return
        }
        let callID = self.nextCallID
        if callID == UInt32.max - 1 {
            // Ids are spent: finish this call, then make way for a new connection.
            self.goAwayLastCallID = callID
            self.onUnusable(false)
        }
        self.nextCallID &+= 1
        var frame = frame
        frame.setInteger(callID, at: frame.readerIndex + 6)
        var call = Call(sink: sink)
        if let deadline {
            let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
            call.timer = context.eventLoop.scheduleTask(deadline: deadline) {
                loopBound.value.expire(callID)
            }
        }
        self.calls[callID] = call
        slot.value = callID
        self.write(frame)
    }

    /// Sends a further frame of an open call (MESSAGE, END_OF_STREAM).
    func send(_ frame: ByteBuffer, slot: NIOLoopBoundBox<UInt32?>) -> EventLoopFuture<Void> {
        guard let context = self.context else {
            return slot.eventLoop.makeFailedFuture(RPCError(code: .unavailable, message: "The connection closed."))
        }
        guard let callID = slot.value, callID != CallSlot.cancelled, self.calls[callID] != nil else {
            return context.eventLoop.makeFailedFuture(RPCError(code: .cancelled, message: "The call has ended."))
        }
        var frame = frame
        frame.setInteger(callID, at: frame.readerIndex + 6)
        let promise = context.eventLoop.makePromise(of: Void.self)
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
        self.abandon(callID, with: RPCError(code: .deadlineExceeded, message: "The deadline passed before the server answered."))
    }

    private func abandon(_ callID: UInt32, with error: RPCError) {
        guard let call = self.calls.removeValue(forKey: callID), let context = self.context else { return }
        call.timer?.cancel()
        call.sink.fail(error)
        var cancel = context.channel.allocator.buffer(capacity: WireFormat.prefixSize)
        cancel.writeFrame(kind: .cancel, callID: callID)
        self.write(cancel)
        self.closeIfDrained()
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
                message: "The server sent a \(kind) frame of \(length) bytes; the limit is \(self.configuration.maxFrameSize)."
            )
            if self.calls[callID] != nil {
                self.abandon(callID, with: error)
            } else {
                context.close(promise: nil)
            }
        }
    }

    private func handle(_ frame: Frame, context: ChannelHandlerContext) {
        switch frame.kind {
        case .response:
            guard let call = self.calls.removeValue(forKey: frame.callID) else { return }
            call.timer?.cancel()
            self.complete(call.sink, with: frame)
            self.closeIfDrained()
        case .message:
            guard let call = self.calls[frame.callID] else { return }
            if case .stream(let continuation) = call.sink {
                continuation.yield(Array(frame.payload.readableBytesView))
            }
        case .ping:
            var pong = context.channel.allocator.buffer(capacity: WireFormat.prefixSize + frame.payload.readableBytes)
            frame.payload.withUnsafeReadableBytes { data in
                pong.writeFrame(kind: .pong, flags: [], callID: 0, header: nil, payload: data)
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

    private func complete(_ sink: ClientCallSink, with frame: Frame) {
        let error: RPCError?
        if frame.header.readableBytes == 0 {
            error = nil
        } else {
            do {
                error = FrameHeaders.error(from: try FrameHeaders.decode(ResponseHeader.self, from: frame.header))
            } catch {
                sink.fail(RPCError(code: .internal, message: "Malformed response header: \(error)"))
                return
            }
        }
        switch sink {
        case .unary(let continuation):
            if let error {
                continuation.resume(throwing: error)
            } else if frame.flags.contains(.hasMessage) {
                continuation.resume(returning: Array(frame.payload.readableBytesView))
            } else {
                continuation.resume(throwing: RPCError(code: .internal, message: "The server sent no response message."))
            }
        case .stream(let continuation):
            if frame.flags.contains(.hasMessage) {
                continuation.yield(Array(frame.payload.readableBytesView))
            }
            if let error {
                continuation.finish(throwing: error)
            } else {
                continuation.finish()
            }
        }
    }

    private func receiveGoAway(lastCallID: UInt32, header: ByteBuffer) {
        let goAway = try? FrameHeaders.decode(GoAway.self, from: header)
        let reason = goAway?.message ?? ""
        self.goAwayLastCallID = min(lastCallID, self.goAwayLastCallID ?? .max)
        self.onUnusable(goAway?.code == 0)
        for callID in self.calls.keys where callID > lastCallID {
            let call = self.calls.removeValue(forKey: callID)!
            call.timer?.cancel()
            call.sink.fail(
                RPCError(
                    code: .unavailable,
                    message: "The server went away before processing the call (\(reason)).",
                    cause: CallNeverSent("GOAWAY")
                ))
        }
        self.closeIfDrained()
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        self.lastReadAt = .now()
        self.pingSentAt = nil
        self.writer.endRead(context: context)
        context.fireChannelReadComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.isClosed = true
        self.housekeeping?.cancel()
        let calls = self.calls
        self.calls.removeAll()
        for (_, call) in calls {
            call.timer?.cancel()
            let reason = self.failure.map { ": \($0)" } ?? "."
            call.sink.fail(RPCError(code: .unavailable, message: "The connection to the server was lost\(reason)"))
        }
        self.onUnusable(false)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if self.failure == nil { self.failure = error }
        context.close(promise: nil)
    }

    // MARK: Housekeeping

    private func closeIfDrained() {
        if self.goAwayLastCallID != nil, self.calls.isEmpty, !self.isClosed {
            self.context?.close(promise: nil)
        }
    }

    private func checkKeepalive() {
        guard let context = self.context, !self.isClosed else { return }
        let now = NIODeadline.now()
        if let pingSentAt = self.pingSentAt {
            if now - pingSentAt >= self.configuration.keepaliveTimeout.nio {
                context.close(promise: nil)
            }
        } else if now - self.lastReadAt >= self.configuration.keepaliveInterval.nio {
            self.pingSentAt = now
            var ping = context.channel.allocator.buffer(capacity: WireFormat.prefixSize + 8)
            ping.writeFrame(kind: .ping, callID: 0, payload: [0, 0, 0, 0, 0, 0, 0, 2])
            self.write(ping)
        }
    }

    /// Writes now; flushes once per read batch or event-loop turn.
    private func write(_ buffer: ByteBuffer) {
        guard let context = self.context, !self.isClosed else { return }
        self.writer.write(buffer, context: context)
    }

    /// Asks the server to stop; open calls finish first.
    func close() {
        guard let context = self.context, !self.isClosed else { return }
        if self.calls.isEmpty {
            context.close(promise: nil)
        } else {
            self.goAwayLastCallID = self.nextCallID &- 1
            self.onUnusable(false)
        }
    }
}

/// Sentinel values of a call's slot: nil before the call starts, its id
/// after, `cancelled` when the caller gave up before it started.
enum CallSlot {
    static let cancelled: UInt32 = 0
}
