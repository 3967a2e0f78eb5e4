import CaravanCore
import CaravanGateway
import Prometheus
import Testing

/// A pool whose metrics go to a registry of its own.
private struct MeteredPool {
    let registry = PrometheusCollectorRegistry()
    let fake: FakePool

    init(_ count: Int, configuration: BackendPoolConfiguration = .defaults) {
        self.fake = FakePool(
            count, configuration: configuration,
            metrics: PoolMetrics(backend: "trade", factory: PrometheusMetricsFactory(registry: self.registry)))
    }

    /// The exposition's line for `series`, e.g. `caravan_gateway_retries_total{backend="trade"}`.
    func value(_ series: String) -> String? {
        self.registry.emitToString().split(separator: "\n").first { $0.hasPrefix(series + " ") }
            .map { String($0.dropFirst(series.count + 1)) }
    }
}

@Suite("Backend pool metrics")
struct PoolMetricsTests {
    @Test("Retries and retries the budget refused are counted where they happen")
    func retriesAndBudgetDrops() async throws {
        let metered = MeteredPool(
            3, configuration: BackendPoolConfiguration(ejectionThreshold: 1000, retryTokens: 4, retryTokenRatio: 0))
        try await metered.fake.running {
            for index in 0..<3 { metered.fake[index].set(.lose) }
            for index in 0..<4 {
                await #expect(throws: RPCError.self) { try await metered.fake.call(idempotencyKey: "k\(index)") }
            }
        }
        // As in the budget test: 4 first attempts and 1 retry; every other retry was refused.
        let attempts = (0..<3).map { metered.fake[$0].calls }.reduce(0, +)
        #expect(metered.value(#"caravan_gateway_retries_total{backend="trade"}"#) == "\(attempts - 4)")
        let refused = try #require(metered.value(#"caravan_gateway_retry_budget_drops_total{backend="trade"}"#).flatMap(Int.init))
        #expect(refused >= 3, "calls 2, 3 and 4 each wanted a retry the budget refused")
    }

    @Test("A sample shows each replica's health and ejection, and ejections since the last sample")
    func sampledReplicas() async throws {
        let metered = MeteredPool(2)
        try await metered.fake.running {
            metered.fake[0].set(.refuse)
            for _ in 0..<6 { _ = try await metered.fake.call() }
            metered.fake.pool.metrics?.sample(metered.fake.pool)
        }
        #expect(metered.value(#"caravan_gateway_ejections_total{backend="trade"}"#) == "1")
        #expect(metered.value(#"caravan_gateway_replica_ejected{backend="trade",replica="127.0.0.1:7001"}"#) == "1.0")
        #expect(metered.value(#"caravan_gateway_replica_ejected{backend="trade",replica="127.0.0.1:7011"}"#) == "0.0")
        #expect(metered.value(#"caravan_gateway_replica_healthy{backend="trade",replica="127.0.0.1:7001"}"#) == "1.0")
        // Refused before sending: retried without drawing on the budget.
        #expect(metered.value(#"caravan_gateway_retries_total{backend="trade"}"#) == "3")
        #expect(metered.value(#"caravan_gateway_retry_tokens{backend="trade"}"#) != nil)
        // A second sample adds nothing when nothing new was ejected.
        metered.fake.pool.metrics?.sample(metered.fake.pool)
        #expect(metered.value(#"caravan_gateway_ejections_total{backend="trade"}"#) == "1")
    }
}
