import CaravanCore
import CaravanHealthAPI
import CaravanReflectionAPI
import CaravanTCP
import Logging
import NIOCore
import ServiceLifecycle

/// A Caravan server: the given services plus health and reflection, on
/// TCP, as a swift-service-lifecycle `Service`.
///
/// On graceful shutdown (SIGTERM/SIGINT through a `ServiceGroup`) health
/// turns NOT_SERVING, the listener closes, every connection gets GOAWAY,
/// and open calls have the grace period to finish.
public struct RPCServer: Service {
    public let health: HealthStatusProvider
    public let router: RPCRouter
    private let transport: TCPServer
    private let logger: Logger

    public init(
        services: [any RPCService],
        configuration: ServerConfiguration = .defaults,
        interceptors: [any ServerInterceptor] = [],
        logger: Logger = Logger(label: "caravan.server"),
        transportMetrics: TransportMetrics? = nil
    ) {
        let health = HealthStatusProvider()
        var router = RPCRouter()
        router.interceptors = interceptors
        for service in services { router.register(service) }
        router.register(HealthService(provider: health))
        let schemas = router.services
        router.register(ReflectionService(services: schemas + [ReflectionService(services: []).serviceSchema]))
        health.setStatus(.serving, forService: "")
        for schema in router.services { health.setStatus(.serving, forService: schema.name) }
        self.health = health
        self.router = router
        self.logger = logger
        self.transport = TCPServer(router: router, configuration: configuration, logger: logger, metrics: transportMetrics)
    }

    /// The bound address (waits until the server listens).
    public var listeningAddress: SocketAddress {
        get async throws { try await self.transport.listeningAddress }
    }

    /// Connections open now.
    public var connectionCount: Int { self.transport.connectionCount }

    /// Serves until graceful shutdown completes.
    public func run() async throws {
        try await withGracefulShutdownHandler {
            try await self.transport.run()
        } onGracefulShutdown: {
            self.beginGracefulShutdown()
        }
        self.logger.info("Server stopped")
    }

    /// Turns health NOT_SERVING, stops accepting and drains connections.
    public func beginGracefulShutdown() {
        self.logger.info("Draining", metadata: ["grace": "\(self.transport.configuration.shutdownGracePeriod)"])
        self.health.shutDown()
        self.transport.beginGracefulShutdown()
    }
}
