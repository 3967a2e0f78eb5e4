import NIOCore

/// Keepalive and idleness of one connection, the same on both sides
/// (docs/PROTOCOL.md, section 11): a PING after `keepaliveInterval` of
/// silence, the peer deemed dead when nothing at all arrives within
/// `keepaliveTimeout` of it, and — on a server — an idle close once no
/// call has been open for `idleTimeout`.
///
/// A value without I/O: the connection tells it what happened and when (the
/// event loop's time), and asks it on each tick what to do.
struct ConnectionLiveness {
    enum Action: Equatable {
        case none
        case sendPing
        /// Nothing arrived within the keepalive timeout of a ping.
        case peerUnresponsive
        /// No call for the idle timeout.
        case idle
    }

    let keepaliveInterval: TimeAmount
    let keepaliveTimeout: TimeAmount
    /// nil: the connection never closes for idleness (clients).
    let idleTimeout: TimeAmount?
    private var lastReadAt: NIODeadline
    private var pingSentAt: NIODeadline?
    private var idleSince: NIODeadline?

    init(keepaliveInterval: TimeAmount, keepaliveTimeout: TimeAmount, idleTimeout: TimeAmount?, now: NIODeadline) {
        self.keepaliveInterval = keepaliveInterval
        self.keepaliveTimeout = keepaliveTimeout
        self.idleTimeout = idleTimeout
        self.lastReadAt = now
        self.idleSince = now
    }

    /// How often to ask ``tick(at:)``: a quarter of the shortest interval,
    /// at least 10 ms.
    var tickInterval: TimeAmount {
        let shortest = min(self.keepaliveInterval, self.idleTimeout ?? self.keepaliveInterval)
        return max(.milliseconds(10), .nanoseconds(shortest.nanoseconds / 4))
    }

    /// Any bytes from the peer count as a sign of life, not only a PONG.
    mutating func bytesRead(at now: NIODeadline) {
        self.lastReadAt = now
        self.pingSentAt = nil
    }

    /// Open calls keep a connection from being idle; pings do not.
    mutating func callStarted() {
        self.idleSince = nil
    }

    /// `openCalls`: calls open now. Idleness is counted from the first tick
    /// that finds none open, so ending a call costs nothing here.
    mutating func tick(at now: NIODeadline, openCalls: Int) -> Action {
        if openCalls > 0 {
            self.idleSince = nil
        } else if let idleTimeout = self.idleTimeout {
            let since = self.idleSince ?? now
            self.idleSince = since
            if now - since >= idleTimeout {
                self.idleSince = nil
                return .idle
            }
        }
        if let pingSentAt = self.pingSentAt {
            return now - pingSentAt >= self.keepaliveTimeout ? .peerUnresponsive : .none
        }
        if now - self.lastReadAt >= self.keepaliveInterval {
            self.pingSentAt = now
            return .sendPing
        }
        return .none
    }
}

/// Whether a connection takes new calls — the same on both sides
/// (docs/PROTOCOL.md, section 12). Once draining (a GOAWAY sent or
/// received) it takes none, lets the open ones finish, and closes when the
/// last has ended.
enum ConnectionPhase: Equatable {
    case active
    /// Calls above `lastCallID` are refused (server) or were never
    /// processed (client).
    case draining(lastCallID: UInt32)
    case closed

    var takesCalls: Bool { self == .active }

    var isDraining: Bool {
        if case .draining = self { return true }
        return false
    }

    /// Starts draining unless already draining or closed; true if it did.
    mutating func drain(lastCallID: UInt32) -> Bool {
        guard self == .active else { return false }
        self = .draining(lastCallID: lastCallID)
        return true
    }

    /// Whether a draining connection has nothing left and should close.
    func closesNow(openCalls: Int) -> Bool {
        self.isDraining && openCalls == 0
    }
}
