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
    /// Thousandths of a token, so that every call can update the bucket
    /// without a lock; a success on a full bucket (the usual case) writes nothing.
    private let milliTokens: Atomic<Int>
    private let maxMilliTokens: Int
    private let milliTokenRatio: Int

    public init(maxTokens: Double = 10, tokenRatio: Double = 0.1) {
        self.maxTokens = max(1, maxTokens)
        self.tokenRatio = max(0, tokenRatio)
        self.maxMilliTokens = Int((self.maxTokens * 1000).rounded())
        self.milliTokenRatio = Int((self.tokenRatio * 1000).rounded())
        self.milliTokens = Atomic(self.maxMilliTokens)
    }

    /// Tokens left now.
    public var tokens: Double { Double(self.milliTokens.load(ordering: .relaxed)) / 1000 }

    /// Whether a call that reached a server may be sent again now.
    public var allowsRetry: Bool { self.milliTokens.load(ordering: .relaxed) * 2 > self.maxMilliTokens }

    public func recordFailure() { self.update { max(0, $0 - 1000) } }

    public func recordSuccess() { self.update { min(self.maxMilliTokens, $0 + self.milliTokenRatio) } }

    private func update(_ change: (Int) -> Int) {
        var current = self.milliTokens.load(ordering: .relaxed)
        while true {
            let next = change(current)
            if next == current { return }
            let (exchanged, original) = self.milliTokens.compareExchange(
                expected: current, desired: next, ordering: .relaxed)
            if exchanged { return }
            current = original
        }
    }
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
/// - A call the server turned away unrun with a pushback — RESOURCE_EXHAUSTED
///   with `retry-after-ms` (admission control, a rate limit) — is retried
///   whatever it is, no sooner than the hint, while the throttle allows:
///   such retries do add load, so each refusal also takes a token.
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
        var pause = policy.backoff(beforeAttempt: attempt + 1)
        if error.neverSent {
            guard error.code == .unavailable else { return .fail }
        } else if let pushback = error.pushback {
            guard throttle?.allowsRetry ?? true else { return .throttled }
            pause = max(pause, pushback)
        } else {
            guard options.idempotencyKey != nil, policy.retryableCodes.contains(error.code) else { return .fail }
            guard throttle?.allowsRetry ?? true else { return .throttled }
        }
        if let deadline = options.deadline, ContinuousClock.now.advanced(by: pause) >= deadline { return .fail }
        return .retry(after: pause)
    }
}
