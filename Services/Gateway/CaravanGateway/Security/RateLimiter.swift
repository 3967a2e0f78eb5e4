import CaravanCore
import Synchronization

/// Token buckets per caller: each caller may make `burst` calls at once and
/// `rate` per second after that.
public final class RateLimiter: Sendable {
    public let rate: Double
    public let burst: Int
    /// Callers remembered at most; past it, callers whose bucket has
    /// refilled are forgotten (a full bucket is what a new caller gets).
    public let maxCallers: Int
    private let buckets = Mutex<[String: Bucket]>([:])

    private struct Bucket {
        var tokens: Double
        var updated: ContinuousClock.Instant
    }

    /// The answer for one call.
    public enum Decision: Equatable, Sendable {
        case allowed
        /// Refused; a token is back after this long.
        case refused(retryAfter: Duration)
    }

    public init(rate: Double, burst: Int, maxCallers: Int = 100_000) {
        precondition(rate > 0 && burst >= 1, "a rate limit needs a positive rate and burst")
        self.rate = rate
        self.burst = burst
        self.maxCallers = maxCallers
    }

    /// Takes a token from `caller`'s bucket if there is one.
    public func acquire(_ caller: String, now: ContinuousClock.Instant = .now) -> Decision {
        self.buckets.withLock { buckets in
            var bucket = buckets[caller] ?? Bucket(tokens: Double(self.burst), updated: now)
            let elapsed = bucket.updated.duration(to: now)
            if elapsed > .zero {
                bucket.tokens = min(
                    Double(self.burst), bucket.tokens + self.rate * Double(elapsed.totalMicroseconds) / 1e6)
                bucket.updated = now
            }
            let decision: Decision
            if bucket.tokens >= 1 {
                bucket.tokens -= 1
                decision = .allowed
            } else {
                decision = .refused(retryAfter: .seconds((1 - bucket.tokens) / self.rate))
            }
            if buckets[caller] == nil, buckets.count >= self.maxCallers { self.forgetRefilled(&buckets, now: now) }
            buckets[caller] = bucket
            return decision
        }
    }

    private func forgetRefilled(_ buckets: inout [String: Bucket], now: ContinuousClock.Instant) {
        let refill = Duration.seconds(Double(self.burst) / self.rate)
        buckets = buckets.filter { _, bucket in bucket.updated.duration(to: now) < refill }
    }

    /// Callers remembered now.
    public var callerCount: Int { self.buckets.withLock { $0.count } }
}
