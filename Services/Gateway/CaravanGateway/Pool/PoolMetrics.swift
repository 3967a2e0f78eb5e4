import CaravanCore
import CaravanServiceKit
import CoreMetrics
import Synchronization

/// One backend pool's instruments: retries, retries the budget refused,
/// ejections, and each replica's health, ejection and the tokens left.
///
/// Retries and budget drops are counted where they happen; the replica
/// gauges and ejections are sampled by ``BackendHealthMirror`` on its
/// tick, so the pool's call path pays nothing for them.
public final class PoolMetrics: Sendable {
    /// Metric names; docs/OBSERVABILITY.md lists them with their labels.
    public enum Name {
        public static let retries = "caravan_gateway_retries_total"
        public static let budgetDrops = "caravan_gateway_retry_budget_drops_total"
        public static let ejections = "caravan_gateway_ejections_total"
        public static let replicaHealthy = "caravan_gateway_replica_healthy"
        public static let replicaEjected = "caravan_gateway_replica_ejected"
        public static let retryTokens = "caravan_gateway_retry_tokens"
    }

    let backend: String
    private let factory: any MetricsFactory
    private let retries: Counter
    private let budgetDrops: Counter
    private let ejections: Counter
    private let retryTokens: Gauge
    private let sampled = Mutex<Sampled>(Sampled())

    private struct Sampled {
        var ejections = 0
        var replicas: [String: (healthy: Gauge, ejected: Gauge)] = [:]
    }

    public init(backend: String, factory: any MetricsFactory = MetricsSystem.factory) {
        self.backend = backend
        self.factory = factory
        let dimensions = [("backend", backend)]
        self.retries = Counter(label: Name.retries, dimensions: dimensions, factory: factory)
        self.budgetDrops = Counter(label: Name.budgetDrops, dimensions: dimensions, factory: factory)
        self.ejections = Counter(label: Name.ejections, dimensions: dimensions, factory: factory)
        self.retryTokens = Gauge(label: Name.retryTokens, dimensions: dimensions, factory: factory)
    }

    /// A call is tried again on another replica.
    func retried() { self.retries.increment() }

    /// The retry budget refused a retry.
    func retryRefused() { self.budgetDrops.increment() }

    /// Records the pool's state now: a gauge pair per replica, ejections since the last sample.
    public func sample(_ pool: BackendPool, now: ContinuousClock.Instant = .now) {
        let replicas = pool.replicas
        let ejectionTotal = pool.ejectionTotal
        self.retryTokens.record(pool.retryTokens)
        let (newEjections, gauges) = self.sampled.withLock { sampled in
            let delta = max(0, ejectionTotal - sampled.ejections)
            sampled.ejections = ejectionTotal
            var gauges: [(Gauge, Gauge, Bool, Bool)] = []
            for replica in replicas {
                let address = replica.endpoint.description
                if sampled.replicas[address] == nil {
                    let dimensions = [("backend", self.backend), ("replica", address)]
                    sampled.replicas[address] = (
                        healthy: Gauge(label: Name.replicaHealthy, dimensions: dimensions, factory: self.factory),
                        ejected: Gauge(label: Name.replicaEjected, dimensions: dimensions, factory: self.factory)
                    )
                }
                let pair = sampled.replicas[address]!
                gauges.append((pair.healthy, pair.ejected, replica.healthy, replica.ejectedUntil.map { $0 > now } ?? false))
            }
            return (delta, gauges)
        }
        if newEjections > 0 { self.ejections.increment(by: Int64(newEjections)) }
        for (healthy, ejected, isHealthy, isEjected) in gauges {
            healthy.record(isHealthy ? 1.0 : 0.0)
            ejected.record(isEjected ? 1.0 : 0.0)
        }
    }
}
