import ArgumentParser
import CaravanTCP

/// Server limits every server command accepts.
public struct ServerLimitOptions: ParsableArguments {
    @Option(name: .long, help: "Largest frame accepted, in bytes.")
    public var maxFrameSize: Int?

    @Option(name: .long, help: "Concurrent calls allowed per connection.")
    public var maxConcurrentCalls: Int?

    @Option(name: .long, help: "Connections allowed at once.")
    public var maxConnections: Int?

    @Option(name: .long, help: "Close connections idle this long (e.g. 5m).")
    public var idleTimeout: String?

    @Option(name: .long, help: "Grace period for in-flight calls on shutdown (e.g. 10s).")
    public var shutdownGrace: String?

    @Option(name: .long, help: "Where handlers run: global (may block) or event-loop (never block).")
    public var handlerExecution: String?

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
            guard let value = parseDuration(text), value > .zero else {
                throw ValidationError("Bad --idle-timeout '\(text)'.")
            }
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
