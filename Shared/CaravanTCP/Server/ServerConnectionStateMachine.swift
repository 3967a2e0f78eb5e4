import CaravanCore
import NIOCore

/// One server connection without I/O: the open calls, the limits, draining
/// and keepalive (docs/PROTOCOL.md, sections 5, 6 and 10–14).
///
/// The connection's channel handler feeds it each event — a frame read, a
/// handler finished, a timer fired, a shutdown asked — and performs the
/// action it returns; tests drive it directly. `CallHandle` is what the
/// handler keeps per running call (its task, its request stream, its
/// deadline timer); the machine only stores and hands it back.
struct ServerConnectionStateMachine<CallHandle> {
    struct Limits {
        var maxConcurrentCalls: Int
        var maxMetadataSize: Int
        var maxFrameSize: Int
    }

    /// A call the handler is to start.
    struct CallStart {
        let callID: UInt32
        let route: RPCRouter.Route
        let context: ServerContext
        let firstMessage: ByteBuffer?
        let requestsEnded: Bool
    }

    enum Action {
        case none
        case start(CallStart)
        /// Answer a call that was never started with an error.
        case reject(callID: UInt32, RPCError, TransportMetrics.RejectionReason?)
        /// Hand a request message (or the end of the requests) to a call.
        case deliver(CallHandle?, ByteBuffer?, ended: Bool)
        /// End a started call now with an error: cancel its handler, answer.
        case end(callID: UInt32, CallHandle?, RPCError, thenClose: Bool)
        /// Forget a call without answering (the client cancelled it).
        case cancel(CallHandle?, thenClose: Bool)
        case sendPong(ByteBuffer)
        case sendPing
        /// GOAWAY with code OK and the last accepted id; close at once when
        /// no call is open, otherwise when the last one ends.
        case goAway(message: String, lastCallID: UInt32, closeNow: Bool)
        /// A protocol violation or a refusal: GOAWAY, then close at once.
        case failConnection(StatusCode, String, TransportMetrics.RejectionReason?)
        case close
    }

    private struct OpenCall {
        var handle: CallHandle?
        let takesRequestStream: Bool
        var requestsEnded: Bool
    }

    private let router: RPCRouter
    private let limits: Limits
    private let peer: String
    private(set) var phase = ConnectionPhase.active
    private var calls: [UInt32: OpenCall] = [:]
    private(set) var lastCallID: UInt32 = 0
    private(set) var liveness: ConnectionLiveness

    init(router: RPCRouter, limits: Limits, liveness: ConnectionLiveness, peer: String) {
        self.router = router
        self.limits = limits
        self.liveness = liveness
        self.peer = peer
    }

    var openCalls: Int { self.calls.count }

    /// Stores what the handler keeps for a call it has just started.
    mutating func attach(_ handle: CallHandle, to callID: UInt32) {
        self.calls[callID]?.handle = handle
    }

    // MARK: Frames

    mutating func frameReceived(_ frame: Frame, arrival: ContinuousClock.Instant) -> Action {
        switch frame.kind {
        case .request:
            return self.requestReceived(frame, arrival: arrival)
        case .message:
            return self.messageReceived(frame)
        case .endOfStream:
            return self.requestsEnded(frame.callID)
        case .cancel:
            guard let call = self.calls.removeValue(forKey: frame.callID) else { return .none }
            return .cancel(call.handle, thenClose: self.phase.closesNow(openCalls: self.calls.count))
        case .ping:
            return .sendPong(frame.payload)
        case .pong:
            return .none  // any inbound bytes count as liveness
        case .goAway:
            // The client is leaving: its open calls finish, new ones are refused.
            _ = self.phase.drain(lastCallID: self.lastCallID)
            return self.phase.closesNow(openCalls: self.calls.count) ? .close : .none
        default:
            return .failConnection(.internal, "Unexpected \(frame.kind) frame from a client.", .badFrame)
        }
    }

    private mutating func requestReceived(_ frame: Frame, arrival: ContinuousClock.Instant) -> Action {
        let callID = frame.callID
        guard callID > self.lastCallID else {
            return .failConnection(
                .internal,
                "Call id \(callID) is not greater than the last one (\(self.lastCallID)); ids must increase.",
                .badFrame)
        }
        self.lastCallID = callID
        guard self.phase.takesCalls else {
            let error = RPCError(code: .unavailable, message: "The server is shutting down; call not processed.")
            return .reject(callID: callID, error, .shuttingDown)
        }
        guard self.calls.count < self.limits.maxConcurrentCalls else {
            let message = "Too many concurrent calls on this connection (limit \(self.limits.maxConcurrentCalls))."
            return .reject(callID: callID, RPCError(code: .resourceExhausted, message: message), .concurrencyLimit)
        }
        let request: IncomingRequest
        switch IncomingRequest.parse(frame, router: self.router, maxMetadataSize: self.limits.maxMetadataSize) {
        case .success(let parsed): request = parsed
        case .failure(let refusal): return .reject(callID: callID, refusal.error, refusal.reason)
        }
        let context = ServerContext(
            descriptor: request.route.descriptor, metadata: request.metadata,
            deadline: request.timeout.map { arrival.advanced(by: $0) }, idempotencyKey: request.idempotencyKey,
            trace: request.trace, peer: self.peer, callID: callID)
        let takesRequestStream = request.route.handler.kind.clientStreams
        let ended = frame.flags.contains(.endStream)
        self.calls[callID] = OpenCall(handle: nil, takesRequestStream: takesRequestStream, requestsEnded: ended)
        self.liveness.callStarted()
        return .start(
            CallStart(
                callID: callID, route: request.route, context: context,
                firstMessage: frame.flags.contains(.hasMessage) ? frame.payload : nil, requestsEnded: ended))
    }

    private mutating func messageReceived(_ frame: Frame) -> Action {
        guard let call = self.calls[frame.callID] else { return .none }  // ended already: a race, not an error
        guard call.takesRequestStream else {
            let error = RPCError(code: .invalidArgument, message: "This method takes a single request message.")
            return self.endCall(frame.callID, with: error)
        }
        guard !call.requestsEnded else { return .none }  // after the half-close: dropped
        let ended = frame.flags.contains(.endStream)
        if ended { self.calls[frame.callID]?.requestsEnded = true }
        return .deliver(call.handle, frame.flags.contains(.hasMessage) ? frame.payload : nil, ended: ended)
    }

    private mutating func requestsEnded(_ callID: UInt32) -> Action {
        guard let call = self.calls[callID], call.takesRequestStream, !call.requestsEnded else { return .none }
        self.calls[callID]?.requestsEnded = true
        return .deliver(call.handle, nil, ended: true)
    }

    /// A frame longer than the limit, skipped unread (section 13). An
    /// undefined kind counts as oversized first: the connection ends.
    mutating func oversizedReceived(kind: FrameKind, callID: UInt32, length: UInt32) -> Action {
        let error = RPCError(
            code: .resourceExhausted,
            message: "A \(kind) frame of \(length) bytes exceeds the limit of \(self.limits.maxFrameSize) bytes.")
        switch kind {
        case .request where callID > self.lastCallID:
            self.lastCallID = callID
            return .reject(callID: callID, error, .frameTooLarge)
        case .message where self.calls[callID] != nil:
            return self.endCall(callID, with: error)
        default:
            return .failConnection(.resourceExhausted, error.message, .frameTooLarge)
        }
    }

    // MARK: Calls ending

    /// A handler returned. Its answer is written only if the call is still
    /// open (not cancelled, expired or ended by the connection): then this
    /// gives back its handle, and whether the connection closes after it.
    mutating func handlerFinished(_ callID: UInt32) -> (handle: CallHandle?, thenClose: Bool)? {
        guard let call = self.calls.removeValue(forKey: callID) else { return nil }
        return (call.handle, self.phase.closesNow(openCalls: self.calls.count))
    }

    /// Whether the call may still send messages.
    func isOpen(_ callID: UInt32) -> Bool { self.calls[callID] != nil }

    /// The call's deadline timer fired before its handler returned.
    mutating func deadlinePassed(_ callID: UInt32) -> Action {
        self.endCall(callID, with: ServerCallRules.finishedLate)
    }

    /// Admission control turned the call away before its handler started.
    mutating func notAdmitted(_ callID: UInt32, _ error: RPCError) -> Action {
        self.endCall(callID, with: error)
    }

    private mutating func endCall(_ callID: UInt32, with error: RPCError) -> Action {
        guard let call = self.calls.removeValue(forKey: callID) else { return .none }
        return .end(
            callID: callID, call.handle, error, thenClose: self.phase.closesNow(openCalls: self.calls.count))
    }

    // MARK: Connection

    /// Graceful shutdown (section 12).
    mutating func drain() -> Action {
        guard self.phase.drain(lastCallID: self.lastCallID) else { return .none }
        return .goAway(
            message: "The server is shutting down.", lastCallID: self.lastCallID,
            closeNow: self.phase.closesNow(openCalls: self.calls.count))
    }

    /// The grace period ended: the calls still open are answered
    /// UNAVAILABLE; the connection then closes.
    mutating func graceExpired() -> [(callID: UInt32, handle: CallHandle?)] {
        let open = self.calls.map { (callID: $0.key, handle: $0.value.handle) }
        self.calls.removeAll()
        return open
    }

    mutating func bytesRead(at now: NIODeadline) {
        self.liveness.bytesRead(at: now)
    }

    mutating func tick(at now: NIODeadline) -> Action {
        guard self.phase != .closed else { return .none }
        switch self.liveness.tick(at: now, openCalls: self.calls.count) {
        case .none:
            return .none
        case .sendPing:
            return .sendPing
        case .peerUnresponsive:
            return .close
        case .idle:
            guard self.phase.drain(lastCallID: self.lastCallID) else { return .none }
            return .goAway(
                message: "Idle for longer than the idle timeout.", lastCallID: self.lastCallID,
                closeNow: self.phase.closesNow(openCalls: self.calls.count))
        }
    }

    /// The channel closed: every open call is to be cancelled.
    mutating func closed() -> [CallHandle] {
        self.phase = .closed
        let handles = self.calls.values.compactMap(\.handle)
        self.calls.removeAll()
        return handles
    }
}
