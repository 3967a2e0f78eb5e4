/// Per-call choices a client makes.
///
/// A call's deadline is an instant of the continuous clock, everywhere from
/// ``RPCClient`` to the server's ``ServerContext``; only the frame codec
/// turns it into the wire's remaining microseconds (and back, on arrival).
/// A caller gives either an instant (`deadline`, e.g. one passed down from
/// a served call) or a `timeout`, which counts from when each call starts,
/// so one `CallOptions` value can be kept and reused for many calls.
public struct CallOptions: Sendable {
    /// The instant the caller stops waiting.
    public var deadline: ContinuousClock.Instant?
    /// How long the caller waits, from the start of the call.
    ///
    /// With both set, the earlier end wins; so does the deadline of the call
    /// being served, when the call is made while serving one. With none of
    /// them, the client's ``RPCClient/defaultTimeout`` applies.
    public var timeout: Duration?
    /// Request metadata.
    public var metadata: Metadata
    /// Makes a write safe to retry: the server records it once.
    public var idempotencyKey: String?
    /// Overrides the client's retry policy for this call.
    public var retryPolicy: RetryPolicy?

    public init(
        deadline: ContinuousClock.Instant? = nil,
        timeout: Duration? = nil,
        metadata: Metadata = [:],
        idempotencyKey: String? = nil,
        retryPolicy: RetryPolicy? = nil
    ) {
        self.deadline = deadline
        self.timeout = timeout
        self.metadata = metadata
        self.idempotencyKey = idempotencyKey
        self.retryPolicy = retryPolicy
    }

    /// Options whose calls each end `timeout` after they start.
    public init(
        timeout: Duration,
        metadata: Metadata = [:],
        idempotencyKey: String? = nil,
        retryPolicy: RetryPolicy? = nil
    ) {
        self.init(
            deadline: nil, timeout: timeout, metadata: metadata, idempotencyKey: idempotencyKey,
            retryPolicy: retryPolicy)
    }

    /// The deadline of a call that starts at `start`: the earlier of the
    /// instant and the timeout's end; nil when neither is set.
    public func deadline(startingAt start: ContinuousClock.Instant) -> ContinuousClock.Instant? {
        let fromTimeout = self.timeout.map { start.advanced(by: $0) }
        switch (self.deadline, fromTimeout) {
        case (let deadline?, let fromTimeout?): return min(deadline, fromTimeout)
        case (let deadline?, nil): return deadline
        case (nil, let fromTimeout): return fromTimeout
        }
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
