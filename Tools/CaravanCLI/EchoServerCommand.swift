import Foundation
import ArgumentParser
import CaravanEcho
import CaravanServer
import CaravanTCP
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

    func run() async throws {
        var logger = Logger(label: "caravan.echo-server")
        logger.logLevel = Logger.Level(rawValue: self.logLevel) ?? .info
        // The echo handlers never block, so they run on the connections'
        // event loops unless told otherwise.
        var configuration = try self.limits.apply(to: ServerConfiguration(handlerExecution: .eventLoop))
        configuration.host = self.host
        configuration.port = self.port
        let server = RPCServer(services: [EchoService()], configuration: configuration, logger: logger)
        let group = ServiceGroup(
            services: [server], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
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

/// Server limits every server command accepts.
public struct ServerLimitOptions: ParsableArguments {
    @Option(name: .long, help: "Largest frame accepted, in bytes.")
    var maxFrameSize: Int?

    @Option(name: .long, help: "Concurrent calls allowed per connection.")
    var maxConcurrentCalls: Int?

    @Option(name: .long, help: "Connections allowed at once.")
    var maxConnections: Int?

    @Option(name: .long, help: "Close connections idle this long (e.g. 5m).")
    var idleTimeout: String?

    @Option(name: .long, help: "Grace period for in-flight calls on shutdown (e.g. 10s).")
    var shutdownGrace: String?

    @Option(name: .long, help: "Where handlers run: global (may block) or event-loop (never block).")
    var handlerExecution: String?

    public init() {}

    public func apply(to configuration: ServerConfiguration) throws -> ServerConfiguration {
        var configuration = configuration
        if let value = self.maxFrameSize {
            guard value >= 1024 else { throw ValidationError("--max-frame-size must be at least 1024.") }
            configuration.maxFrameSize = value
        }
        if let value = self.maxConcurrentCalls {
            guard value >= 1 else { throw ValidationError("--max-concurrent-calls must be at least 1.") }
            configuration.maxConcurrentCallsPerConnection = value
        }
        if let value = self.maxConnections {
            guard value >= 1 else { throw ValidationError("--max-connections must be at least 1.") }
            configuration.maxConnections = value
        }
        if let text = self.idleTimeout {
            guard let value = parseDuration(text), value > .zero else { throw ValidationError("Bad --idle-timeout '\(text)'.") }
            configuration.idleTimeout = value
        }
        if let text = self.shutdownGrace {
            guard let value = parseDuration(text) else { throw ValidationError("Bad --shutdown-grace '\(text)'.") }
            configuration.shutdownGracePeriod = value
        }
        if let text = self.handlerExecution {
            guard let value = ServerConfiguration.HandlerExecution(rawValue: text) else {
                throw ValidationError("--handler-execution must be global or event-loop.")
            }
            configuration.handlerExecution = value
        }
        return configuration
    }
}
