/// Per-call choices a client makes.
public struct CallOptions: Sendable {
    /// How long the caller waits. When the call is made inside a handler,
    /// the handler's own deadline also applies (the earlier one wins).
    public var timeout: Duration?
    /// Request metadata.
    public var metadata: Metadata
    /// Makes a write safe to retry: the server records it once.
    public var idempotencyKey: String?
    /// Overrides the client's retry policy for this call.
    public var retryPolicy: RetryPolicy?

    public init(
        timeout: Duration? = nil,
        metadata: Metadata = [:],
        idempotencyKey: String? = nil,
        retryPolicy: RetryPolicy? = nil
    ) {
        self.timeout = timeout
        self.metadata = metadata
        self.idempotencyKey = idempotencyKey
        self.retryPolicy = retryPolicy
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
}

/// When a failed call is tried again. Only calls that are safe to repeat
/// are retried: those the transport never sent, and those carrying an
/// idempotency key. Never past the deadline.
public struct RetryPolicy: Hashable, Sendable {
    /// Attempts in all, the first included; 1 disables retries.
    public var maxAttempts: Int
    public var initialBackoff: Duration
    public var maxBackoff: Duration
    public var backoffMultiplier: Double
    /// Codes worth retrying (for idempotent calls).
    public var retryableCodes: Set<RPCError.Code>

    public init(
        maxAttempts: Int = 3,
        initialBackoff: Duration = .milliseconds(20),
        maxBackoff: Duration = .seconds(1),
        backoffMultiplier: Double = 2,
        retryableCodes: Set<RPCError.Code> = [.unavailable]
    ) {
        self.maxAttempts = max(1, maxAttempts)
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
        self.backoffMultiplier = backoffMultiplier
        self.retryableCodes = retryableCodes
    }

    public static var defaults: RetryPolicy { RetryPolicy() }
    public static var none: RetryPolicy { RetryPolicy(maxAttempts: 1) }

    /// The pause before attempt `attempt` (2, 3, …), with full jitter.
    public func backoff(beforeAttempt attempt: Int) -> Duration {
        let exponent = Double(max(0, attempt - 2))
        let base = self.initialBackoff * pow(self.backoffMultiplier, exponent)
        let capped = min(base, self.maxBackoff)
        return capped * Double.random(in: 0.5...1.0)
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

@usableFromInline
func pow(_ base: Double, _ exponent: Double) -> Double {
    var result = 1.0
    var remaining = Int(exponent)
    while remaining > 0 {
        result *= base
        remaining -= 1
    }
    return result
}
