/// Per-call choices a client makes.
///
/// A deadline is an instant of the continuous clock, everywhere from here to
/// the server's ``ServerContext``; only the frame codec turns it into the
/// wire's remaining microseconds (and back, on arrival).
public struct CallOptions: Sendable {
    /// When the caller stops waiting. When the call is made while serving
    /// another call, that call's deadline also applies (the earlier wins);
    /// with neither, the client's ``RPCClient/defaultTimeout`` does.
    public var deadline: ContinuousClock.Instant?
    /// Request metadata.
    public var metadata: Metadata
    /// Makes a write safe to retry: the server records it once.
    public var idempotencyKey: String?
    /// Overrides the client's retry policy for this call.
    public var retryPolicy: RetryPolicy?

    public init(
        deadline: ContinuousClock.Instant? = nil,
        metadata: Metadata = [:],
        idempotencyKey: String? = nil,
        retryPolicy: RetryPolicy? = nil
    ) {
        self.deadline = deadline
        self.metadata = metadata
        self.idempotencyKey = idempotencyKey
        self.retryPolicy = retryPolicy
    }

    /// Options whose deadline is `timeout` from now.
    public init(
        timeout: Duration,
        metadata: Metadata = [:],
        idempotencyKey: String? = nil,
        retryPolicy: RetryPolicy? = nil
    ) {
        self.init(
            deadline: .now.advanced(by: timeout), metadata: metadata, idempotencyKey: idempotencyKey,
            retryPolicy: retryPolicy)
    }

    public static var defaults: CallOptions { CallOptions() }
}

/// Call options with the deadline and trace context settled: what a
/// transport sends.
public struct ResolvedCallOptions: Sendable {
    public var deadline: ContinuousClock.Instant?
    public var metadata: Metadata
    public var idempotencyKey: String?
    public var trace: TraceContext?

    public init(
        deadline: ContinuousClock.Instant? = nil,
        metadata: Metadata = [:],
        idempotencyKey: String? = nil,
        trace: TraceContext? = nil
    ) {
        self.deadline = deadline
        self.metadata = metadata
        self.idempotencyKey = idempotencyKey
        self.trace = trace
    }

    /// Whether a transport may send the call at all: DEADLINE_EXCEEDED,
    /// marked never sent, once the deadline has passed.
    public func checkDeadline(before descriptor: MethodDescriptor) throws(RPCError) {
        if let deadline = self.deadline, deadline <= .now {
            throw RPCError(
                code: .deadlineExceeded,
                message: "The deadline passed before \(descriptor.path) was sent.",
                cause: CallNeverSent("deadline already passed")
            )
        }
    }
}

/// Marks an error for a call that never left this process, so retrying it
/// cannot repeat its effect.
public struct CallNeverSent: Error, Sendable, CustomStringConvertible {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { self.reason }
}

extension RPCError {
    /// Whether the call failed before it reached a server.
    public var neverSent: Bool { self.cause is CallNeverSent }
}
