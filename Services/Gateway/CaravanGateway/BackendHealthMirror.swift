import CaravanCore
import CaravanHealthAPI
import CaravanServer
import ServiceLifecycle

/// Shows each backend's state in the gateway's own health service: a
/// backend's service name is SERVING through the gateway while at least one
/// of its replicas is healthy and not ejected, NOT_SERVING otherwise. So
/// `caravan health` against the gateway says which backends it can reach.
public struct BackendHealthMirror: Service {
    let pools: [Backend: BackendPool]
    let health: HealthStatusProvider
    let interval: Duration

    public init(pools: [Backend: BackendPool], health: HealthStatusProvider, interval: Duration = .milliseconds(500)) {
        self.pools = pools
        self.health = health
        self.interval = interval
    }

    /// Copies the pools' readiness until graceful shutdown; it must stop
    /// before the server drains, so that it never turns a draining server's
    /// services back to SERVING (it comes after the server in the group).
    public func run() async throws {
        var last: [Backend: Bool] = [:]
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            for (backend, pool) in self.pools {
                pool.metrics?.sample(pool)
                let ready = pool.isReady
                guard last[backend] != ready else { continue }
                last[backend] = ready
                self.health.setStatus(
                    ready ? .serving : .notServing, forService: GatewayApplication.schema(of: backend).name)
            }
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: self.interval) }
            } catch {
                return
            }
        }
    }
}
