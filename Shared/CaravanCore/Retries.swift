import Synchronization

/// How often and how soon a failed call is tried again.
public struct RetryPolicy: Hashable, Sendable {
    /// Attempts in all, the first included; 1 disables retries.
    public var maxAttempts: Int
    public var initialBackoff: Duration
    public var maxBackoff: Duration
    public var backoffMultiplier: Double
    /// Codes worth retrying for a call that may have run but carries an
    /// idempotency key.
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
        var base = self.initialBackoff
        for _ in 0..<max(0, attempt - 2) where base < self.maxBackoff {
            base = base * self.backoffMultiplier
        }
        return min(base, self.maxBackoff) * Double.random(in: 0.5...1.0)
    }
}

/// A token bucket that keeps retries from multiplying load, as gRPC's retry
/// throttling does: every failed attempt takes a token, every success gives
/// back a fraction of one, and retries of calls that reached a server stop
/// while the bucket is at most half full. One per client, so it sees every
/// attempt the client makes, whichever replica or connection it went to.
public final class RetryThrottle: Sendable {
    public let maxTokens: Double
    /// Tokens a successful call gives back.
    public let tokenRatio: Double
    private let bucket: Mutex<Double>

    public init(maxTokens: Double = 10, tokenRatio: Double = 0.1) {
        self.maxTokens = max(1, maxTokens)
        self.tokenRatio = max(0, tokenRatio)
        self.bucket = Mutex(max(1, maxTokens))
    }

    /// Tokens left now.
    public var tokens: Double { self.bucket.withLock { $0 } }

    /// Whether a call that reached a server may be sent again now.
    public var allowsRetry: Bool { self.bucket.withLock { $0 > self.maxTokens / 2 } }

    public func recordFailure() { self.bucket.withLock { $0 = max(0, $0 - 1) } }

    public func recordSuccess() { self.bucket.withLock { $0 = min(self.maxTokens, $0 + self.tokenRatio) } }
}

/// What the client's one retry loop does after a failed attempt.
public enum RetryDecision: Equatable, Sendable {
    case retry(after: Duration)
    case fail
    /// A retry the rules allowed but the throttle refused.
    case throttled
}

/// Which failed calls are tried again — the only place that decides it.
///
/// - A call that never reached a server (no connection, the connection
///   closed or went away before the call was written, a GOAWAY whose last
///   id is below the call's) failed UNAVAILABLE is retried whatever it is:
///   it cannot have run. Such retries add no load, so they do not draw on
///   the throttle.
/// - A call that may have run is retried only when it carries an
///   idempotency key (the server records it once) and failed with one of
///   the policy's retryable codes (UNAVAILABLE by default), while the
///   throttle allows.
/// - Never past the attempt limit, never when the pause would end at or
///   after the deadline, never once the caller has cancelled.
public enum RetryRules {
    public static func decide(
        after error: RPCError,
        attempt: Int,
        policy: RetryPolicy,
        options: ResolvedCallOptions,
        throttle: RetryThrottle?
    ) -> RetryDecision {
        guard attempt < policy.maxAttempts, !Task.isCancelled else { return .fail }
        if error.neverSent {
            guard error.code == .unavailable else { return .fail }
        } else {
            guard options.idempotencyKey != nil, policy.retryableCodes.contains(error.code) else { return .fail }
            guard throttle?.allowsRetry ?? true else { return .throttled }
        }
        let pause = policy.backoff(beforeAttempt: attempt + 1)
        if let deadline = options.deadline, ContinuousClock.now.advanced(by: pause) >= deadline { return .fail }
        return .retry(after: pause)
    }
}
