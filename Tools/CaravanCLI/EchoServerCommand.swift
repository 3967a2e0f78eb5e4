import ArgumentParser
import CaravanEcho
import CaravanObservability
import CaravanServer
import CaravanServiceKit
import CaravanTCP
import Foundation
import Logging
import NIOCore
import ServiceLifecycle
import UnixSignals

/// `caravan echo-server`: serves the echo test service.
struct EchoServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "echo-server", abstract: "Serve the echo test service (for tests and benchmarks).")

    @Option(name: .long, help: "Address to bind.")
    var host: String = "127.0.0.1"

    @Option(name: .long, help: "Port to bind; 0 picks a free one (printed on start).")
    var port: Int = 7100

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    @OptionGroup var limits: ServerLimitOptions
    @OptionGroup var tls: TLSServerOptions

    @OptionGroup var observability: ObservabilityOptions

    func run() async throws {
        guard let level = Logger.Level(rawValue: self.logLevel) else {
            throw ValidationError("Unknown log level '\(self.logLevel)'.")
        }
        // The per-call line defaults to debug here: a benchmark server
        // answers too many calls to log each at info.
        let observability = Observability.bootstrap(
            try self.observability.resolve(service: "echo", logLevel: level, callLogLevel: "debug"))
        let logger = Logger(label: "caravan.echo-server")
        // The echo handlers never block, so they run on the connections'
        // event loops unless told otherwise.
        var configuration = try self.limits.apply(to: ServerConfiguration(handlerExecution: .eventLoop))
        configuration.host = self.host
        configuration.port = self.port
        configuration.tls = try self.tls.resolve(
            prefix: "CARAVAN_ECHO_", environment: ProcessInfo.processInfo.environment)
        let server = RPCServer(
            services: [EchoService()], configuration: configuration,
            interceptors: [observability.callObserver(logger: logger)], logger: logger,
            transportMetrics: observability.transportMetrics())
        var services: [any Service] = [server]
        if let metrics = observability.metricsServer(name: "caravan echo-server", host: self.host, logger: logger) {
            services.insert(metrics, at: 0)
        }
        let group = ServiceGroup(
            services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        let host = self.host
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            tasks.addTask {
                let address = try await server.listeningAddress
                Output.printLine("caravan echo-server listening on \(address.ipAddress ?? host):\(address.port ?? 0)")
            }
            try await tasks.waitForAll()
        }
    }
}
