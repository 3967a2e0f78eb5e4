/// How a ``BackendPool`` spreads, limits, ejects and retries.
public struct BackendPoolConfiguration: Sendable {
    /// Calls in flight across all replicas; one more fails RESOURCE_EXHAUSTED at once.
    public var maxOutstandingCalls: Int
    /// Consecutive UNAVAILABLE failures after which a replica is ejected.
    public var ejectionThreshold: Int
    /// The first ejection's length; it doubles per repeat, up to `maxEjection`.
    public var baseEjection: Duration
    public var maxEjection: Duration
    /// Before watching a replica's health again after a watch ended.
    public var healthRewatchDelay: Duration
    /// Between DNS resolutions of named addresses.
    public var resolveInterval: Duration
    /// Attempts per call in all (retries go to another replica).
    public var maxAttempts: Int
    /// Retries of calls that did reach a replica draw on this budget.
    public var retryBudget: RetryBudget

    public init(
        maxOutstandingCalls: Int = 1024,
        ejectionThreshold: Int = 3,
        baseEjection: Duration = .seconds(1),
        maxEjection: Duration = .seconds(30),
        healthRewatchDelay: Duration = .milliseconds(500),
        resolveInterval: Duration = .seconds(10),
        maxAttempts: Int = 3,
        retryBudget: RetryBudget = RetryBudget()
    ) {
        self.maxOutstandingCalls = max(1, maxOutstandingCalls)
        self.ejectionThreshold = max(1, ejectionThreshold)
        self.baseEjection = baseEjection
        self.maxEjection = maxEjection
        self.healthRewatchDelay = healthRewatchDelay
        self.resolveInterval = resolveInterval
        self.maxAttempts = max(1, maxAttempts)
        self.retryBudget = retryBudget
    }

    public static var defaults: BackendPoolConfiguration { BackendPoolConfiguration() }
}
