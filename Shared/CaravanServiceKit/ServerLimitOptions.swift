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

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Queueing the adaptive limit lets calls take on before it shrinks, however fast they were (e.g. 5ms; 0 for none)."
        ))
    public var admissionQueueingAllowance: String?

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
        configuration.admission = try self.admission(configuration.admission)
        if let text = self.handlerExecution {
            guard let value = ServerConfiguration.HandlerExecution(rawValue: text) else {
                throw ValidationError("--handler-execution must be global or event-loop.")
            }
            configuration.handlerExecution = value
        }
        return configuration
    }

    /// The adaptive limit's configuration these options give, nil when
    /// admission control is off.
    private func admission(
        _ configured: AdaptiveConcurrencyLimit.Configuration?
    ) throws -> AdaptiveConcurrencyLimit.Configuration? {
        switch self.admissionControl {
        case nil, "adaptive":
            guard self.admissionControl != nil || self.maxInFlightCalls != nil || self.admissionQueueingAllowance != nil
            else { return configured }
            var limit = configured ?? .defaults
            if let value = self.maxInFlightCalls {
                guard value >= 1 else { throw ValidationError("--max-in-flight-calls must be at least 1.") }
                limit.maxLimit = value
                limit.minLimit = min(limit.minLimit, value)
                limit.initialLimit = min(limit.initialLimit, value)
            }
            if let text = self.admissionQueueingAllowance {
                guard let value = parseDuration(text) else {
                    throw ValidationError("Bad --admission-queueing-allowance '\(text)' (e.g. 5ms, or 0).")
                }
                limit.queueingAllowance = value
            }
            return limit
        case "off":
            guard self.maxInFlightCalls == nil, self.admissionQueueingAllowance == nil else {
                throw ValidationError(
                    "--max-in-flight-calls and --admission-queueing-allowance need --admission-control adaptive.")
            }
            return nil
        case let other?:
            throw ValidationError("--admission-control must be adaptive or off, not '\(other)'.")
        }
    }
}
