import ArgumentParser
import CaravanObservability
import CaravanPostgres
import CaravanSQLite
import CaravanServiceKit
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

    @Option(
        name: .long,
        help: "Directory of the SQLite database (env CARAVAN_<SERVICE>_DATA_DIR; default ./data/<service>).")
    public var dataDir: String?

    @Option(
        name: .long, help: "trace, debug, info, notice, warning, error or critical (env CARAVAN_<SERVICE>_LOG_LEVEL).")
    public var logLevel: String?

    @Option(name: .long, help: "SQLite durability: full (fsync every commit) or normal (env CARAVAN_<SERVICE>_SYNC).")
    public var sync: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Keep the data in PostgreSQL instead of SQLite: postgres://USER:PASSWORD@HOST:PORT/DATABASE[?sslmode=verify-full] (env CARAVAN_<SERVICE>_DATABASE_URL).",
            valueName: "url"))
    public var database: String?

    @Option(
        name: .long,
        help: "Most PostgreSQL connections this process opens (env CARAVAN_<SERVICE>_DATABASE_POOL_SIZE; default 10).")
    public var databasePoolSize: Int?

    @Option(
        name: .long,
        help:
            "Seconds a call may wait for PostgreSQL (a connection, a lock, a statement) before UNAVAILABLE (env CARAVAN_<SERVICE>_DATABASE_TIMEOUT; default 5)."
    )
    public var databaseTimeout: Double?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Copy everything from the SQLite database in this directory into --database's PostgreSQL, check every table's row count, and exit.",
            valueName: "data-dir"))
    public var copyFromSqlite: String?

    @Flag(
        name: .long,
        help: "With --copy-from-sqlite: overwrite a PostgreSQL database that already has this service's schema.")
    public var replace = false

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
        let port =
            try portText.map { text -> Int in
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
        guard let synchronous = SQLiteDurability(rawValue: syncText) else {
            throw ValidationError("--sync must be full or normal; got '\(syncText)'.")
        }
        let postgres = try self.postgres(prefix: prefix, environment: environment)
        if postgres != nil, value(self.dataDir, "DATA_DIR") != nil {
            throw ValidationError("--data-dir is SQLite's and --database PostgreSQL's: give one.")
        }
        // Handlers run on Swift's global pool. `--handler-execution
        // event-loop` (no thread hop for a read) is for PostgreSQL only: a
        // SQLite write started from a handler that prefers its event loop
        // suspends inside the writer's open transaction when writes run
        // concurrently, and the writer refuses the next one (INTERNAL).
        var server = try self.limits.apply(to: ServerConfiguration(handlerExecution: .global))
        if server.handlerExecution == .eventLoop, postgres == nil {
            throw ValidationError(
                "--handler-execution event-loop needs --database postgres://…; SQLite's writer needs handlers on the global pool."
            )
        }
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
        settings.postgres = postgres
        if let source = self.copyFromSqlite {
            guard postgres != nil else {
                throw ValidationError("--copy-from-sqlite copies into PostgreSQL: give --database postgres://… too.")
            }
            settings.copyFromSQLite = source
            settings.replaceOnCopy = self.replace
        } else if self.replace {
            throw ValidationError("--replace only applies to --copy-from-sqlite.")
        }
        return settings
    }

    /// The PostgreSQL settings when `--database` (or its variable) is set.
    func postgres(prefix: String, environment: [String: String]) throws -> PostgresSettings? {
        guard let url = self.database ?? environment[prefix + "DATABASE_URL"] else { return nil }
        var settings: PostgresSettings
        do {
            settings = try PostgresSettings(url: url)
        } catch {
            throw ValidationError(error.description)
        }
        if let text = self.databasePoolSize.map(String.init) ?? environment[prefix + "DATABASE_POOL_SIZE"] {
            guard let size = Int(text), (1...1000).contains(size) else {
                throw ValidationError("--database-pool-size must be 1...1000; got '\(text)'.")
            }
            settings.maximumConnections = size
        }
        if let text = self.databaseTimeout.map({ String($0) }) ?? environment[prefix + "DATABASE_TIMEOUT"] {
            guard let seconds = Double(text), seconds > 0, seconds <= 3600 else {
                throw ValidationError("--database-timeout must be a number of seconds in (0, 3600]; got '\(text)'.")
            }
            settings.callTimeout = .milliseconds(Int64(seconds * 1000))
        }
        return settings
    }
}

/// A service's settled configuration.
public struct ServiceSettings: Sendable {
    public var service: String
    public var server: ServerConfiguration
    public var dataDirectory: String
    public var logLevel: Logger.Level
    public var durability: SQLiteDurability
    public var observability: ObservabilitySettings
    /// Calls (but health) must carry it; nil admits any caller.
    public var serviceToken: String? = nil
    /// Set when the data lives in PostgreSQL; nil means SQLite in ``dataDirectory``.
    public var postgres: PostgresSettings? = nil
    /// Set to copy this SQLite data directory into ``postgres`` and exit.
    public var copyFromSQLite: String? = nil
    /// Overwrite a PostgreSQL database that already has the schema.
    public var replaceOnCopy = false
}
