/// The deadline rules every server transport applies (docs/PROTOCOL.md,
/// section 9): a call whose deadline has passed before its handler starts
/// is refused without running it, and a call that finishes after its
/// deadline is answered DEADLINE_EXCEEDED, never OK.
public enum ServerCallRules {
    /// DEADLINE_EXCEEDED when the call's deadline has passed as its handler
    /// is about to start.
    public static func refusal(_ context: ServerContext) -> RPCError? {
        guard let deadline = context.deadline, deadline <= .now else { return nil }
        return Self.expiredBeforeStart
    }

    /// Throws DEADLINE_EXCEEDED when the handler returned at or after its
    /// deadline: the caller has given up, so the answer must not say OK.
    public static func checkFinishedInTime(_ context: ServerContext) throws(RPCError) {
        if let deadline = context.deadline, ContinuousClock.now >= deadline {
            throw Self.finishedLate
        }
    }

    /// The status the caller sees for a handler's error: a handler cancelled
    /// because its deadline passed reports DEADLINE_EXCEEDED.
    public static func status(of error: any Error, context: ServerContext) -> RPCError {
        let converted = RPCError(converting: error)
        if converted.code == .cancelled, let deadline = context.deadline, ContinuousClock.now >= deadline {
            return RPCError(code: .deadlineExceeded, message: Self.finishedLate.message, cause: error)
        }
        return converted
    }

    public static let expiredBeforeStart = RPCError(
        code: .deadlineExceeded, message: "The deadline passed before the call started; it was not run.")
    public static let finishedLate = RPCError(
        code: .deadlineExceeded, message: "The deadline passed before the call finished.")
}

/// Accepts calls and runs each through a router: the TCP server, the
/// in-process transport and the gateway's HTTP door implement it, so that
/// deadlines, cancellation, limits and interceptors behave alike whichever
/// way a call arrives.
public protocol ServerTransport: Sendable {
    /// Serves `router` until shut down; returns once every call has ended.
    func serve(_ router: RPCRouter) async throws
    /// Stops taking new calls; open ones may finish within the transport's
    /// grace period.
    func beginGracefulShutdown()
}

/// Runs `body`, cancelling it and throwing DEADLINE_EXCEEDED at `deadline`:
/// for transports with no timer of their own (in-process, HTTP).
public func withDeadline<T: Sendable>(
    _ deadline: ContinuousClock.Instant?,
    _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    guard let deadline else { return try await body() }
    return try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(until: deadline, clock: .continuous)
            throw ServerCallRules.finishedLate
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}
