import Synchronization

/// A server's admission control: lets in at most the adaptive limit's
/// number of unary calls at once and refuses the rest at once, before any
/// handler runs, so that overload shows as quick refusals a client can back
/// off from (RESOURCE_EXHAUSTED with `retry-after-ms`) instead of a queue
/// in which every call waits until its deadline. A call whose deadline is
/// nearer than the fastest recent call took cannot finish in time and is
/// refused DEADLINE_EXCEEDED without running.
///
/// One per server, shared by its connections; two short critical sections
/// per call.
public final class AdmissionControl: Sendable {
    private struct State {
        var limit: AdaptiveConcurrencyLimit
        var inFlight = 0
    }

    private let state: Mutex<State>

    public init(configuration: AdaptiveConcurrencyLimit.Configuration = .defaults) {
        self.state = Mutex(State(limit: AdaptiveConcurrencyLimit(configuration: configuration)))
    }

    /// An admitted call; hand it back to ``finished(_:at:measured:)``.
    public struct Ticket: Sendable {
        public let admittedAt: ContinuousClock.Instant
        let inFlight: Int
    }

    /// Admits a call arriving `now` with `deadline`, or says why not.
    public func admit(
        deadline: ContinuousClock.Instant?, now: ContinuousClock.Instant = .now
    ) -> Result<Ticket, RPCError> {
        self.state.withLock { state -> Result<Ticket, RPCError> in
            let limit = state.limit.limit
            if state.inFlight >= limit {
                let retryAfter = Self.milliseconds(state.limit.lastWindowLatency ?? 0.001)
                return .failure(
                    RPCError(
                        code: .resourceExhausted,
                        message:
                            "The server is at its limit of \(limit) calls at once (adapted to its latency); "
                            + "the call was not run. Try again in \(retryAfter) ms.",
                        metadata: [RPCError.retryAfterKey: .string(String(retryAfter))]))
            }
            if let deadline, let fastest = state.limit.lastWindowFastest,
                deadline < now.advanced(by: .seconds(fastest))
            {
                let left = Self.milliseconds(max(0, now.duration(to: deadline).totalSeconds))
                return .failure(
                    RPCError(
                        code: .deadlineExceeded,
                        message:
                            "The call cannot finish within its deadline (\(left) ms left; the fastest recent call "
                            + "took \(Self.milliseconds(fastest)) ms); it was not run."))
            }
            state.inFlight += 1
            return .success(Ticket(admittedAt: now, inFlight: state.inFlight))
        }
    }

    /// A call admitted by ``admit(deadline:now:)`` ended. `measured` is
    /// false for calls whose latency says nothing about the server (the
    /// client cancelled).
    public func finished(_ ticket: Ticket, at now: ContinuousClock.Instant = .now, measured: Bool = true) {
        self.state.withLock { state in
            state.inFlight -= 1
            if measured { state.limit.record(latency: ticket.admittedAt.duration(to: now), inFlight: ticket.inFlight) }
        }
    }

    /// A call admitted by ``admit(deadline:now:)`` ended with `outcome`; a
    /// call the client cancelled gives its place back without counting as
    /// a latency sample (it says nothing about the server's latency).
    public func finished<Success>(_ ticket: Ticket, with outcome: Result<Success, RPCError>) {
        let cancelled = if case .failure(let error) = outcome { error.code == .cancelled } else { false }
        self.finished(ticket, measured: !cancelled)
    }

    /// The limit now and the calls running, for metrics and tests.
    public var snapshot: (limit: Int, inFlight: Int) {
        self.state.withLock { ($0.limit.limit, $0.inFlight) }
    }

    private static func milliseconds(_ seconds: Double) -> Int { max(1, Int((seconds * 1000).rounded(.up))) }
}
