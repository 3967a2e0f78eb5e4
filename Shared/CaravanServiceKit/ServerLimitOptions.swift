import ArgumentParser
import CaravanCore
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

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Admission control of unary calls: adaptive (a limit on calls running at once that follows their latency; calls over it are refused RESOURCE_EXHAUSTED with retry-after-ms) or off."
        ))
    public var admissionControl: String?

    @Option(name: .long, help: "The most calls the adaptive limit lets run at once.")
    public var maxInFlightCalls: Int?

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
        switch self.admissionControl {
        case nil, "adaptive":
            if let value = self.maxInFlightCalls {
                guard value >= 1 else { throw ValidationError("--max-in-flight-calls must be at least 1.") }
                var limit = configuration.admission ?? .defaults
                limit.maxLimit = value
                limit.minLimit = min(limit.minLimit, value)
                limit.initialLimit = min(limit.initialLimit, value)
                configuration.admission = limit
            } else if self.admissionControl != nil {
                configuration.admission = configuration.admission ?? .defaults
            }
        case "off":
            guard self.maxInFlightCalls == nil else {
                throw ValidationError("--max-in-flight-calls needs --admission-control adaptive.")
            }
            configuration.admission = nil
        case let other?:
            throw ValidationError("--admission-control must be adaptive or off, not '\(other)'.")
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
