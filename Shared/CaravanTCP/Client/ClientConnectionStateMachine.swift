import CaravanCore
import NIOCore

/// One client connection without I/O: call ids, the open calls, GOAWAY and
/// keepalive (docs/PROTOCOL.md, sections 5, 10–12).
///
/// The channel handler feeds it events and performs what it returns; tests
/// drive it directly. `Call` is what the handler keeps per open call (where
/// its answer goes, its deadline timer); the machine stores and returns it.
struct ClientConnectionStateMachine<Call> {
    /// Why the connection takes no more calls, for the pool above it.
    enum Unusable: Equatable {
        /// The server closed it in good order (idle, draining): connect
        /// again when a call needs it.
        case goneAway
        /// The server refused or failed it (GOAWAY with an error code),
        /// with its words.
        case refused(String)
        /// Closed, reset, unresponsive, or out of call ids.
        case lost
    }

    enum StartVerdict {
        /// Write the REQUEST with this id.
        case send(callID: UInt32)
        case refuse(RPCError)
    }

    private var calls: [UInt32: Call] = [:]
    private var nextCallID: UInt32 = 1
    private(set) var phase = ConnectionPhase.active
    private(set) var liveness: ConnectionLiveness
    /// What the server said when it refused or failed the connection.
    private(set) var refusal: String?

    /// `firstCallID` other than 1 only lets tests reach the end of the ids.
    init(liveness: ConnectionLiveness, firstCallID: UInt32 = 1) {
        self.liveness = liveness
        self.nextCallID = firstCallID
    }

    var openCalls: Int { self.calls.count }

    /// The last id a client may use; then it connects anew (section 5).
    static var lastUsableCallID: UInt32 { .max - 1 }

    /// Opens a call: its id, or why it cannot go out on this connection
    /// (never sent, so safe to send elsewhere). The second value is set
    /// when this call spent the last id: the connection then drains.
    mutating func startCall(_ call: Call) -> (StartVerdict, spentIDs: Bool) {
        guard self.phase.takesCalls else {
            let reason = self.refusal.map { "The server refused the connection: \($0)" } ?? "The connection is closing."
            return (.refuse(RPCError(code: .unavailable, message: reason, cause: CallNeverSent("connection closing"))), false)
        }
        let callID = self.nextCallID
        self.nextCallID &+= 1
        self.calls[callID] = call
        self.liveness.callStarted()
        guard callID < Self.lastUsableCallID else {
            _ = self.phase.drain(lastCallID: callID)
            return (.send(callID: callID), true)
        }
        return (.send(callID: callID), false)
    }

    /// Changes what the machine keeps for an open call.
    mutating func update(_ callID: UInt32, _ body: (inout Call) -> Void) {
        if self.calls[callID] != nil { body(&self.calls[callID]!) }
    }

    func call(_ callID: UInt32) -> Call? { self.calls[callID] }

    /// The RESPONSE ended the call; nil for a call no longer open.
    mutating func responseReceived(_ callID: UInt32) -> (call: Call, thenClose: Bool)? {
        guard let call = self.calls.removeValue(forKey: callID) else { return nil }
        return (call, self.phase.closesNow(openCalls: self.calls.count))
    }

    /// The caller gave up (cancelled, deadline): send CANCEL if it was open.
    mutating func abandon(_ callID: UInt32) -> (call: Call, thenClose: Bool)? {
        self.responseReceived(callID)
    }

    /// Calls above the GOAWAY's id were not processed: they fail, never
    /// sent; the rest finish. The connection takes no new call.
    mutating func goAwayReceived(lastCallID: UInt32, code: Int32, message: String) -> (
        unprocessed: [Call], unusable: Unusable, thenClose: Bool
    ) {
        if code != 0 { self.refusal = message }
        switch self.phase {
        case .active:
            self.phase = .draining(lastCallID: lastCallID)
        case .draining(let previous):
            self.phase = .draining(lastCallID: min(previous, lastCallID))
        case .closed:
            return ([], .lost, false)
        }
        var unprocessed: [Call] = []
        for callID in self.calls.keys where callID > lastCallID {
            unprocessed.append(self.calls.removeValue(forKey: callID)!)
        }
        let unusable: Unusable = code == 0 ? .goneAway : .refused(message)
        return (unprocessed, unusable, self.phase.closesNow(openCalls: self.calls.count))
    }

    /// The caller closes the connection: at once when no call is open,
    /// otherwise after the open calls (a GOAWAY tells the server so).
    mutating func closeRequested() -> (goAway: UInt32?, closeNow: Bool) {
        let lastCallID = self.nextCallID &- 1
        guard self.phase.drain(lastCallID: lastCallID) else { return (nil, false) }
        if self.calls.isEmpty { return (nil, true) }
        return (lastCallID, false)
    }

    mutating func bytesRead(at now: NIODeadline) {
        self.liveness.bytesRead(at: now)
    }

    mutating func tick(at now: NIODeadline) -> ConnectionLiveness.Action {
        guard self.phase != .closed else { return .none }
        return self.liveness.tick(at: now, openCalls: self.calls.count)
    }

    /// The channel closed: every open call fails.
    mutating func closed() -> [Call] {
        self.phase = .closed
        let open = Array(self.calls.values)
        self.calls.removeAll()
        return open
    }
}
