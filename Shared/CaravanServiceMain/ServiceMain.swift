import CaravanCore
import CaravanObservability
import CaravanPostgres
import CaravanSQLite
import CaravanServer
import CaravanServiceKit
import CaravanTCP
import Foundation
import Logging
import NIOCore
import ServiceLifecycle
import UnixSignals

/// The body of every service executable: logging, the database, the
/// server, and signal handling, wired the same way for each service.
public enum ServiceMain {
    /// Opens the service's database (SQLite by default, PostgreSQL with
    /// `--database`), serves `makeServices` until SIGTERM or SIGINT, then
    /// drains. Prints `caravan-<service> listening on HOST:PORT` once bound
    /// (scripts and tests wait for that line).
    public static func run(
        settings: ServiceSettings,
        migrations: ServiceMigrations,
        makeServices: (ServiceStorage, Logger) throws -> [any RPCService]
    ) async throws {
        let observability = Observability.bootstrap(settings.observability)
        let logger = Logger(label: "caravan.\(settings.service)")
        if let source = settings.copyFromSQLite, let postgres = settings.postgres {
            try await Self.copy(from: source, to: postgres, settings: settings, migrations: migrations, logger: logger)
            return
        }
        // With PostgreSQL the pool runs beside the server and stops after
        // it: calls still draining at shutdown keep their connections.
        try await Self.withStorage(settings: settings, migrations: migrations, logger: logger) { storage in
            try await Self.serve(
                settings: settings, services: try makeServices(storage, logger), observability: observability,
                logger: logger)
        }
    }

    /// Opens the service's database — `<data-dir>/<service>.sqlite`, or
    /// PostgreSQL with `--database` — brought up to its migrations, and
    /// runs `body` with it; a PostgreSQL pool runs for as long as `body`
    /// does. For serving and for one-off commands (the synthetic-data
    /// generators). `callTimeout` raises PostgreSQL's call timeout for
    /// work longer than a call (a bulk load in one transaction).
    public static func withStorage<T: Sendable>(
        settings: ServiceSettings,
        migrations: ServiceMigrations,
        callTimeout: Duration? = nil,
        logger: Logger,
        _ body: (ServiceStorage) async throws -> T
    ) async throws -> T {
        guard var postgres = settings.postgres else {
            let database = try SQLiteDatabase.open(
                directory: settings.dataDirectory, name: settings.service, durability: settings.durability,
                migrations: migrations.sqlite)
            logger.info(
                "Database ready", metadata: ["path": "\(database.path)", "sync": "\(settings.durability.rawValue)"])
            do {
                let result = try await body(.sqlite(database))
                await database.close()
                return result
            } catch {
                await database.close()
                throw error
            }
        }
        if let callTimeout { postgres.callTimeout = max(postgres.callTimeout, callTimeout) }
        let pool = try PostgresPool(settings: postgres, logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { await pool.run() }
            defer { tasks.cancelAll() }
            try await pool.migrate(migrations.postgres)
            return try await body(.postgres(pool))
        }
    }

    /// `--copy-from-sqlite`: copies, prints each table's counts, exits.
    static func copy(
        from directory: String, to postgres: PostgresSettings, settings: ServiceSettings,
        migrations: ServiceMigrations, logger: Logger
    ) async throws {
        let path = URL(fileURLWithPath: directory).appendingPathComponent("\(settings.service).sqlite").path
        guard FileManager.default.fileExists(atPath: path) else {
            throw RPCError(
                code: .notFound,
                message: "No SQLite database at \(path) (--copy-from-sqlite takes the service's data directory).")
        }
        // Opening migrates the file to the current schema, as a start would.
        let source = try SQLiteDatabase.open(
            directory: directory, name: settings.service, durability: settings.durability, migrations: migrations.sqlite
        )
        var copySettings = postgres
        // A copy of a large file is one long transaction, not a call.
        copySettings.callTimeout = .seconds(3600)
        let pool = try PostgresPool(settings: copySettings, logger: logger)
        let counts: [SQLiteToPostgresCopy.TableCount]
        do {
            counts = try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { await pool.run() }
                defer { tasks.cancelAll() }
                return try await SQLiteToPostgresCopy(tables: migrations.copiedTables).run(
                    from: source, to: pool, migrations: migrations.postgres, replace: settings.replaceOnCopy,
                    logger: logger)
            }
        } catch {
            await source.close()
            throw error
        }
        await source.close()
        var report = "copied \(path) into \(postgres.redactedURL); row counts match:\n"
        report +=
            "table".padding(toLength: 24, withPad: " ", startingAt: 0) + "sqlite".leftPadded(12)
            + "postgres".leftPadded(12) + "\n"
        for count in counts {
            report +=
                count.table.padding(toLength: 24, withPad: " ", startingAt: 0)
                + String(count.sqlite).leftPadded(12) + String(count.postgres).leftPadded(12) + "\n"
        }
        StandardStream.output.write(report)
    }

    private static func serve(
        settings: ServiceSettings, services rpcServices: [any RPCService], observability: Observability, logger: Logger
    ) async throws {
        let server = RPCServer(
            services: rpcServices, configuration: settings.server,
            interceptors: [observability.callObserver(logger: logger)]
                + (settings.serviceToken.map { [ServiceTokenInterceptor(token: $0)] } ?? []),
            logger: logger, transportMetrics: observability.transportMetrics())
        let name = "caravan-\(settings.service)"
        var services: [any Service] = [server]
        if let metrics = observability.metricsServer(name: name, host: settings.server.host, logger: logger) {
            // Before the server: on shutdown (reverse order) metrics stay up while calls drain.
            services.insert(metrics, at: 0)
        }
        let group = ServiceGroup(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        let host = settings.server.host
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            tasks.addTask {
                let address = try await server.listeningAddress
                let line = "\(name) listening on \(address.ipAddress ?? host):\(address.port ?? 0)\n"
                StandardStream.output.write(line)
            }
            try await tasks.waitForAll()
        }
    }
}

/// The database a service was started on.
public enum ServiceStorage: Sendable {
    /// `<data-dir>/<service>.sqlite`, in WAL mode.
    case sqlite(SQLiteDatabase)
    /// `--database postgres://…`.
    case postgres(PostgresPool)
}

/// A service's schema on each store, and what a copy from SQLite to
/// PostgreSQL moves.
public struct ServiceMigrations: Sendable {
    public var sqlite: [SQLiteMigration]
    public var postgres: [PostgresMigration]
    /// The tables `--copy-from-sqlite` copies, parents before children.
    public var copiedTables: [String]

    public init(sqlite: [SQLiteMigration], postgres: [PostgresMigration], copiedTables: [String]) {
        self.sqlite = sqlite
        self.postgres = postgres
        self.copiedTables = copiedTables
    }
}

extension String {
    fileprivate func leftPadded(_ width: Int) -> String {
        String(repeating: " ", count: max(0, width - self.count)) + self
    }
}
