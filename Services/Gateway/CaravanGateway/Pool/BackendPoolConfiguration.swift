import CaravanCore

/// How a ``BackendPool`` spreads, limits, ejects, watches and retries.
public struct BackendPoolConfiguration: Sendable {
    /// Spreading, the cap on calls in flight, ejection, the connection wait.
    public var replicas: ReplicaPoolConfiguration
    /// Before watching a replica's health again after a watch ended.
    public var healthRewatchDelay: Duration
    /// Between DNS resolutions of named addresses.
    public var resolveInterval: Duration
    /// Attempts per call in all, the first included; the gateway's client
    /// retries what ``RetryRules`` allows.
    public var retryPolicy: RetryPolicy
    /// The retry throttle: its tokens, and what a success gives back.
    public var retryTokens: Double
    public var retryTokenRatio: Double

    public init(
        maxOutstandingCalls: Int = 1024,
        ejectionThreshold: Int = 3,
        baseEjection: Duration = .seconds(1),
        maxEjection: Duration = .seconds(30),
        connectionWait: Duration = .seconds(5),
        healthRewatchDelay: Duration = .milliseconds(500),
        resolveInterval: Duration = .seconds(10),
        maxAttempts: Int = 3,
        retryTokens: Double = 10,
        retryTokenRatio: Double = 0.1
    ) {
        self.replicas = ReplicaPoolConfiguration(
            maxOutstandingCalls: maxOutstandingCalls, ejectionThreshold: ejectionThreshold, baseEjection: baseEjection,
            maxEjection: maxEjection, connectionWait: connectionWait)
        self.healthRewatchDelay = healthRewatchDelay
        self.resolveInterval = resolveInterval
        self.retryPolicy = RetryPolicy(maxAttempts: maxAttempts)
        self.retryTokens = retryTokens
        self.retryTokenRatio = retryTokenRatio
    }

    public static var defaults: BackendPoolConfiguration { BackendPoolConfiguration() }
}
