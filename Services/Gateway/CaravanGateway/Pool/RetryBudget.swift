/// A token bucket limiting retries, as gRPC's retry throttling does: every
/// failed attempt takes a token, every success gives back a fraction of
/// one, and retries stop while the bucket is at most half full.
///
/// So when a replica dies, the others see at most a bounded burst of
/// retries rather than every call twice or three times.
public struct RetryBudget: Sendable, Equatable {
    public let maxTokens: Double
    /// Tokens a successful call gives back.
    public let tokenRatio: Double
    public private(set) var tokens: Double

    public init(maxTokens: Double = 10, tokenRatio: Double = 0.1) {
        self.maxTokens = max(1, maxTokens)
        self.tokenRatio = max(0, tokenRatio)
        self.tokens = self.maxTokens
    }

    /// Whether a retry may be made now.
    public var allowsRetry: Bool { self.tokens > self.maxTokens / 2 }

    public mutating func recordFailure() { self.tokens = max(0, self.tokens - 1) }

    public mutating func recordSuccess() { self.tokens = min(self.maxTokens, self.tokens + self.tokenRatio) }
}
