import CaravanCore
import CaravanLogisticsAPI
import CaravanServer
import CaravanServiceKit
import CaravanTCP
import CaravanTradeAPI
import CaravanTrainingAPI
import Logging
import NIOCore
import ServiceLifecycle

/// The gateway wired together: a pool per backend, the forwarding routes
/// for every backend method, the aggregate service, and the server. The
/// executable only parses flags and runs ``services`` in a `ServiceGroup`.
public struct GatewayApplication: Sendable {
    public let pools: [Backend: BackendPool]
    public let server: RPCServer

    /// `interceptors` run around every call (the call observer);
    /// `transportMetrics` and `poolMetrics` count when metrics are on;
    /// `otherTransports` serve the gateway's router beside TCP (the HTTP door).
    public init(
        settings: GatewaySettings,
        logger: Logger,
        interceptors: [any ServerInterceptor] = [],
        transportMetrics: TransportMetrics? = nil,
        poolMetrics: Bool = false,
        otherTransports: ([Backend: BackendPool]) -> [any ServerTransport] = { _ in [] }
    ) {
        var pools: [Backend: BackendPool] = [:]
        let client = settings.client
        let serviceToken = settings.security.serviceToken
        for backend in Backend.allCases {
            pools[backend] = BackendPool(
                name: backend.rawValue,
                healthService: Self.schema(of: backend).name,
                addresses: settings.backends[backend] ?? [],
                configuration: settings.pool,
                logger: logger,
                metrics: poolMetrics ? PoolMetrics(backend: backend.rawValue) : nil
            ) { endpoint, readinessChanged in
                ServiceTokenChannel(
                    TCPClientTransport.channel(
                        to: endpoint, configuration: client, readinessChanged: readinessChanged),
                    token: serviceToken)
            }
        }
        let backends = ClientBackends(
            trade: pools[.trade]!.client, logistics: pools[.logistics]!.client, training: pools[.training]!.client,
            configured: Set(Backend.allCases.filter { pools[$0]!.isConfigured }))
        var services: [any RPCService] = [GatewayProvider(backends: backends, split: settings.split, logger: logger)]
        for backend in Backend.allCases {
            services.append(ForwardingService(schema: Self.schema(of: backend), client: pools[backend]!.client))
        }
        self.pools = pools
        self.server = RPCServer(
            services: services, configuration: settings.server,
            interceptors: interceptors + settings.security.makeInterceptors(), logger: logger,
            transportMetrics: transportMetrics, otherTransports: otherTransports(pools))
    }

    /// The backend's API schema: the methods routed to it.
    public static func schema(of backend: Backend) -> ServiceSchema {
        switch backend {
        case .trade: return TradeService.schema
        case .logistics: return LogisticsService.schema
        case .training: return TrainingService.schema
        }
    }

    /// In start order: the pools first, so that on shutdown (reverse
    /// order) the server drains its calls while the pools still serve them;
    /// the health mirror last, so it stops before the server drains.
    public var services: [any Service] {
        Backend.allCases.map { self.pools[$0]! as any Service }
            + [self.server, BackendHealthMirror(pools: self.pools, health: self.server.health)]
    }

    public var listeningAddress: SocketAddress {
        get async throws { try await self.server.listeningAddress }
    }
}
