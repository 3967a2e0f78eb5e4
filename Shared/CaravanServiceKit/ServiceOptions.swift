import ArgumentParser
import CaravanObservability
import CaravanTCP
import Foundation
import Logging

/// The command-line options every service executable takes. Each falls back
/// to an environment variable named after the service
/// (`CARAVAN_TRADE_PORT`, …), then to the built-in default.
public struct ServiceOptions: ParsableArguments {
    @Option(name: .long, help: "Address to bind (env CARAVAN_<SERVICE>_HOST; default 127.0.0.1).")
    public var host: String?

    @Option(name: .long, help: "Port to bind; 0 picks a free one (env CARAVAN_<SERVICE>_PORT).")
    public var port: Int?

    @Option(name: .long, help: "Directory of the SQLite database (env CARAVAN_<SERVICE>_DATA_DIR; default ./data/<service>).")
    public var dataDir: String?

    @Option(name: .long, help: "trace, debug, info, notice, warning, error or critical (env CARAVAN_<SERVICE>_LOG_LEVEL).")
    public var logLevel: String?

    @Option(name: .long, help: "SQLite durability: full (fsync every commit) or normal (env CARAVAN_<SERVICE>_SYNC).")
    public var sync: String?

    @OptionGroup public var limits: ServerLimitOptions
    @OptionGroup public var tls: TLSServerOptions
    @OptionGroup public var serviceToken: ServiceTokenOptions

    @OptionGroup public var observability: ObservabilityOptions

    public init() {}

    /// Settles every option for `service` (e.g. "trade").
    public func resolve(
        service: String,
        defaultPort: Int,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> ServiceSettings {
        let prefix = "CARAVAN_\(service.uppercased())_"
        func value(_ flag: String?, _ name: String) -> String? { flag ?? environment[prefix + name] }

        let portText = self.port.map(String.init) ?? environment[prefix + "PORT"]
        let port = try portText.map { text -> Int in
            guard let port = Int(text), (0...65535).contains(port) else {
                throw ValidationError("The port must be 0...65535; got '\(text)'.")
            }
            return port
        } ?? defaultPort
        let levelText = value(self.logLevel, "LOG_LEVEL") ?? "info"
        guard let level = Logger.Level(rawValue: levelText) else {
            throw ValidationError("Unknown log level '\(levelText)'.")
        }
        let syncText = value(self.sync, "SYNC") ?? "full"
        guard let synchronous = DatabaseDurability(rawValue: syncText) else {
            throw ValidationError("--sync must be full or normal; got '\(syncText)'.")
        }
        var server = try self.limits.apply(to: ServerConfiguration())
        server.host = value(self.host, "HOST") ?? "127.0.0.1"
        server.port = port
        server.tls = try self.tls.resolve(prefix: prefix, environment: environment)
        var settings = ServiceSettings(
            service: service,
            server: server,
            dataDirectory: value(self.dataDir, "DATA_DIR") ?? "./data/\(service)",
            logLevel: level,
            durability: synchronous,
            observability: try self.observability.resolve(service: service, logLevel: level, environment: environment)
        )
        settings.serviceToken = try self.serviceToken.resolve(prefix: prefix, environment: environment)
        return settings
    }
}

/// A service's settled configuration.
public struct ServiceSettings: Sendable {
    public var service: String
    public var server: ServerConfiguration
    public var dataDirectory: String
    public var logLevel: Logger.Level
    public var durability: DatabaseDurability
    public var observability: ObservabilitySettings
    /// Calls (but health) must carry it; nil admits any caller.
    public var serviceToken: String? = nil
}
