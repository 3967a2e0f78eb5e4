import ArgumentParser
import CaravanCore
import CaravanGateway
import CaravanGatewayHTTP
import CaravanObservability
import CaravanServer
import CaravanServiceKit
import CaravanTCP
import Foundation
import Logging
import NIOCore
import ServiceLifecycle
import UnixSignals

/// `caravan-gateway`: one door for clients. Routes every method of the
/// trade, logistics and training services to a pool of replicas each, and
/// serves the aggregate calls of `caravan.gateway.v1.Gateway`.
struct GatewayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "caravan-gateway",
        abstract: "The Caravan gateway: routes calls to the services' replicas and answers aggregate calls."
    )

    @Option(name: .long, help: "Address to bind (env CARAVAN_GATEWAY_HOST; default 127.0.0.1).")
    var host: String?

    @Option(name: .long, help: "Port to bind; 0 picks a free one (env CARAVAN_GATEWAY_PORT; default 7000).")
    var port: Int?

    @Option(
        name: .long, parsing: .unconditional,
        help:
            "Port of the HTTP/JSON door and dashboard; 0 picks a free one, -1 turns it off (env CARAVAN_GATEWAY_HTTP_PORT; default 8080)."
    )
    var httpPort: Int?

    @Option(
        name: .long,
        help:
            "Deadline of an HTTP request that sets no X-Caravan-Timeout, e.g. 5s (env CARAVAN_GATEWAY_HTTP_TIMEOUT; default 5s)."
    )
    var httpTimeout: String?

    @Option(
        name: .long,
        help:
            "Trade replicas, host:port,… ; a name resolving to several addresses gives a replica each (env CARAVAN_GATEWAY_TRADE)."
    )
    var trade: String?

    @Option(name: .long, help: "Logistics replicas (env CARAVAN_GATEWAY_LOGISTICS).")
    var logistics: String?

    @Option(name: .long, help: "Training replicas (env CARAVAN_GATEWAY_TRAINING).")
    var training: String?

    @Option(
        name: .long,
        help:
            "A file of `service = host:port,…` lines; flags and environment take precedence (env CARAVAN_GATEWAY_BACKENDS_FILE)."
    )
    var backendsFile: String?

    @Option(
        name: .long,
        help:
            "Calls in flight per backend before RESOURCE_EXHAUSTED (env CARAVAN_GATEWAY_MAX_OUTSTANDING; default 1024)."
    )
    var maxOutstanding: Int?

    @Option(
        name: .long,
        help: "Between DNS re-resolutions of named backends, e.g. 10s (env CARAVAN_GATEWAY_RESOLVE_INTERVAL).")
    var resolveInterval: String?

    @Option(
        name: .long, help: "trace, debug, info, notice, warning, error or critical (env CARAVAN_GATEWAY_LOG_LEVEL).")
    var logLevel: String?

    @OptionGroup var limits: ServerLimitOptions
    @OptionGroup var security: GatewaySecurityOptions

    @OptionGroup var observability: ObservabilityOptions

    func run() async throws { try await self.start() }

    func settings(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> GatewaySettings {
        func value(_ flag: String?, _ name: String) -> String? { flag ?? environment["CARAVAN_GATEWAY_\(name)"] }
        var settings = GatewaySettings()
        settings.server = try self.limits.apply(to: settings.server)
        settings.server.host = value(self.host, "HOST") ?? "127.0.0.1"
        let portText = value(self.port.map(String.init), "PORT") ?? "7000"
        guard let port = Int(portText), (0...65535).contains(port) else {
            throw ValidationError("The port must be 0...65535; got '\(portText)'.")
        }
        settings.server.port = port
        let httpPortText = value(self.httpPort.map(String.init), "HTTP_PORT") ?? "8080"
        guard let httpPort = Int(httpPortText), (-1...65535).contains(httpPort) else {
            throw ValidationError("The HTTP port must be -1...65535; got '\(httpPortText)'.")
        }
        settings.httpPort = httpPort >= 0 ? httpPort : nil
        if let text = value(self.httpTimeout, "HTTP_TIMEOUT") {
            guard let timeout = parseDuration(text), timeout > .zero else {
                throw ValidationError("--http-timeout takes a duration such as 5s; got '\(text)'.")
            }
            settings.httpTimeout = timeout
        }
        if let path = value(self.backendsFile, "BACKENDS_FILE") {
            let text: String
            do {
                text = try String(contentsOfFile: path, encoding: .utf8)
            } catch {
                throw ValidationError("Cannot read the backends file \(path): \(error)")
            }
            do {
                settings.backends = try GatewaySettings.parseBackendsFile(text)
            } catch {
                throw ValidationError("\(path): \(error)")
            }
        }
        for (backend, flag) in [(Backend.trade, self.trade), (.logistics, self.logistics), (.training, self.training)] {
            guard let text = value(flag, backend.rawValue.uppercased()) else { continue }
            guard let endpoints = GatewaySettings.parseEndpoints(text) else {
                throw ValidationError("--\(backend.rawValue) takes host:port[,host:port…]; got '\(text)'.")
            }
            settings.backends[backend] = endpoints
        }
        if let text = value(self.maxOutstanding.map(String.init), "MAX_OUTSTANDING") {
            guard let limit = Int(text), limit > 0 else { throw ValidationError("--max-outstanding must be positive.") }
            settings.pool.replicas.maxOutstandingCalls = limit
        }
        if let text = value(self.resolveInterval, "RESOLVE_INTERVAL") {
            guard let interval = parseDuration(text), interval > .zero else {
                throw ValidationError("--resolve-interval takes a duration such as 10s; got '\(text)'.")
            }
            settings.pool.resolveInterval = interval
        }
        let levelText = value(self.logLevel, "LOG_LEVEL") ?? "info"
        guard let level = Logger.Level(rawValue: levelText) else {
            throw ValidationError("Unknown log level '\(levelText)'.")
        }
        settings.logLevel = level
        try self.security.apply(to: &settings, environment: environment)
        return settings
    }

    /// Serves until SIGTERM or SIGINT, then drains: the server first, the pools after.
    func start() async throws {
        let settings = try self.settings()
        let level = settings.logLevel
        let observability = Observability.bootstrap(
            try self.observability.resolve(service: "gateway", logLevel: level))
        let logger = Logger(label: "caravan.gateway")
        for backend in Backend.allCases where settings.backends[backend, default: []].isEmpty {
            logger.warning("No \(backend.rawValue) replicas configured; its methods answer UNAVAILABLE")
        }
        let (httpAddresses, httpListening) = AsyncStream.makeStream(of: SocketAddress.self)
        // Hummingbird announces "listening on" at info; scripts and tests
        // look for the gateway's own line, so its logger starts at notice.
        var httpLogger = Logger(label: "caravan.gateway.http")
        httpLogger.logLevel = max(level, .notice)
        let transportMetrics = observability.transportMetrics()
        let application = GatewayApplication(
            settings: settings, logger: logger, interceptors: [observability.callObserver(logger: logger)],
            transportMetrics: transportMetrics, poolMetrics: observability.registry != nil
        ) { pools in
            guard let port = settings.httpPort else { return [] }
            let http = GatewayHTTPTransport.Configuration(
                host: settings.server.host, port: port, tls: settings.server.tls, defaultTimeout: settings.httpTimeout,
                maxBodySize: settings.server.maxFrameSize, maxConcurrentCalls: settings.server.maxConnections)
            return [
                GatewayHTTPTransport(
                    configuration: http, pools: pools, metrics: observability.registry, rejections: transportMetrics,
                    logger: httpLogger
                ) { address in httpListening.yield(address) }
            ]
        }
        if settings.httpPort == nil { httpListening.finish() }
        var services = application.services
        if let metrics = observability.metricsServer(
            name: "caravan-gateway", host: settings.server.host, logger: logger)
        {
            // First: on shutdown (reverse order) it stops last.
            services.insert(metrics, at: 0)
        }
        let group = ServiceGroup(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        let host = settings.server.host
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            tasks.addTask {
                let address = try await application.listeningAddress
                let line = "caravan-gateway listening on \(address.ipAddress ?? host):\(address.port ?? 0)\n"
                StandardStream.output.write(line)
                // The HTTP line always comes second: readers take the first "listening on" as the RPC address.
                for await http in httpAddresses {
                    let line = "caravan-gateway HTTP on \(http.ipAddress ?? host):\(http.port ?? 0)\n"
                    StandardStream.output.write(line)
                    break
                }
            }
            try await tasks.waitForAll()
        }
    }
}

// Called by name: from top-level code `run()` resolves to ArgumentParser's
// synchronous default, which only prints the help.
do {
    let command = try GatewayCommand.parse()
    try await command.start()
} catch {
    GatewayCommand.exit(withError: error)
}
