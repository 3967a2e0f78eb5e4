import CaravanCore
import CaravanHealthAPI
import CaravanReflectionAPI
import CaravanTCP
import Logging
import NIOCore
import ServiceLifecycle

/// A Caravan server: the given services plus health and reflection, served
/// through its transports (TCP, and any other ``ServerTransport`` such as
/// the gateway's HTTP door), as a swift-service-lifecycle `Service`.
///
/// On graceful shutdown (SIGTERM/SIGINT through a `ServiceGroup`) health
/// turns NOT_SERVING, every transport stops accepting, the TCP connections
/// get GOAWAY, and open calls have the grace period to finish.
public struct RPCServer: Service {
    public let health: HealthStatusProvider
    public let router: RPCRouter
    /// The TCP transport.
    public let tcp: TCPServer
    private let otherTransports: [any ServerTransport]
    private let logger: Logger

    public init(
        services: [any RPCService],
        configuration: ServerConfiguration = .defaults,
        interceptors: [any ServerInterceptor] = [],
        logger: Logger = Logger(label: "caravan.server"),
        transportMetrics: TransportMetrics? = nil,
        otherTransports: [any ServerTransport] = []
    ) {
        let health = HealthStatusProvider()
        var router = RPCRouter()
        router.interceptors = interceptors
        for service in services { router.register(service) }
        router.register(HealthService(provider: health))
        let schemas = router.services
        router.register(ReflectionService(services: schemas + [ReflectionService(services: []).serviceSchema]))
        // One limit for every door: the calls of the TCP and HTTP doors share the process.
        router.admission = configuration.admission.map { AdmissionControl(configuration: $0) }
        health.setStatus(.serving, forService: "")
        for schema in router.services { health.setStatus(.serving, forService: schema.name) }
        self.health = health
        self.router = router
        self.logger = logger
        self.tcp = TCPServer(configuration: configuration, logger: logger, metrics: transportMetrics)
        self.otherTransports = otherTransports
    }

    private var transports: [any ServerTransport] { [self.tcp] + self.otherTransports }

    /// The bound TCP address (waits until the server listens).
    public var listeningAddress: SocketAddress {
        get async throws { try await self.tcp.listeningAddress }
    }

    /// TCP connections open now.
    public var connectionCount: Int { self.tcp.connectionCount }

    /// Serves until graceful shutdown completes on every transport.
    public func run() async throws {
        let router = self.router
        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { group in
                for transport in self.transports {
                    group.addTask { try await transport.serve(router) }
                }
            }
        } onGracefulShutdown: {
            self.beginGracefulShutdown()
        }
        self.logger.info("Server stopped")
    }

    /// Turns health NOT_SERVING, stops accepting and drains connections.
    public func beginGracefulShutdown() {
        self.logger.info("Draining", metadata: ["grace": "\(self.tcp.configuration.shutdownGracePeriod)"])
        self.health.shutDown()
        for transport in self.transports { transport.beginGracefulShutdown() }
    }
}
