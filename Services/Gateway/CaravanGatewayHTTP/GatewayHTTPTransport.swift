import CaravanCore
import CaravanGateway
import CaravanTCP
import Logging
import NIOCore
import Prometheus
import ServiceLifecycle
import Synchronization

/// The gateway's HTTP/JSON door as a ``ServerTransport``: it serves the
/// gateway's router over HTTP (``GatewayHTTPServer``), so an HTTP request
/// runs through the same router, interceptors and deadline rules as a call
/// on the TCP door.
public final class GatewayHTTPTransport: ServerTransport {
    /// Where the door listens and what it allows.
    public struct Configuration: Sendable {
        public var host: String
        /// 0 picks a free port.
        public var port: Int
        public var tls: ServerTLS?
        /// The deadline of a request that sets none (`X-Caravan-Timeout`).
        public var defaultTimeout: Duration
        /// The largest request body read (the TCP door's largest frame).
        public var maxBodySize: Int
        /// HTTP calls in flight at once; one more is answered 429 (an HTTP/1.1
        /// connection carries one call at a time, so this is the TCP door's
        /// connection limit).
        public var maxConcurrentCalls: Int

        public init(
            host: String = "127.0.0.1", port: Int = 8080, tls: ServerTLS? = nil, defaultTimeout: Duration = .seconds(5),
            maxBodySize: Int = 4 * 1024 * 1024, maxConcurrentCalls: Int = 4096
        ) {
            self.host = host
            self.port = port
            self.tls = tls
            self.defaultTimeout = defaultTimeout
            self.maxBodySize = maxBodySize
            self.maxConcurrentCalls = maxConcurrentCalls
        }

        public static var defaults: Configuration { Configuration() }
    }

    public let configuration: Configuration
    private let pools: [Backend: BackendPool]
    private let metrics: PrometheusCollectorRegistry?
    private let rejections: TransportMetrics?
    private let logger: Logger
    private let onListening: @Sendable (SocketAddress) async -> Void
    /// Asks a running ``serve(_:)`` to stop; finished once it was asked.
    private let stop = AsyncStream.makeStream(of: Void.self)

    public init(
        configuration: Configuration,
        pools: [Backend: BackendPool],
        metrics: PrometheusCollectorRegistry? = nil,
        rejections: TransportMetrics? = nil,
        logger: Logger,
        onListening: @escaping @Sendable (SocketAddress) async -> Void = { _ in }
    ) {
        self.configuration = configuration
        self.pools = pools
        self.metrics = metrics
        self.rejections = rejections
        self.logger = logger
        self.onListening = onListening
    }

    public func serve(_ router: RPCRouter) async throws {
        let application = try GatewayHTTPServer.application(
            caller: HTTPGatewayCaller(
                router: router, defaultTimeout: self.configuration.defaultTimeout,
                maxBodySize: self.configuration.maxBodySize, maxConcurrentCalls: self.configuration.maxConcurrentCalls,
                rejections: self.rejections),
            pools: self.pools, host: self.configuration.host, port: self.configuration.port,
            tls: self.configuration.tls, logger: self.logger, metrics: self.metrics, onListening: self.onListening)
        // Hummingbird stops on a graceful shutdown of the service group it
        // runs in; this group is the door's own, so that the server can
        // stop it with its other transports.
        let group = ServiceGroup(services: [application], gracefulShutdownSignals: [], logger: self.logger)
        let stop = self.stop.stream
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask {
                for await _ in stop { break }
                await group.triggerGracefulShutdown()
            }
            try await group.run()
            tasks.cancelAll()
        }
    }

    public func beginGracefulShutdown() {
        self.stop.continuation.finish()
    }
}
