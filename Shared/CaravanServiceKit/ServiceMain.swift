import CaravanCore
import CaravanObservability
import CaravanPostgres
import CaravanServer
import CaravanTCP
import Foundation
import GRDB
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
        migrator: DatabaseMigrator,
        postgresMigrations: [PostgresMigration],
        makeServices: (ServiceStorage, Logger) throws -> [any RPCService]
    ) async throws {
        let observability = Observability.bootstrap(settings.observability)
        let logger = Logger(label: "caravan.\(settings.service)")
        guard let postgresSettings = settings.postgres else {
            let database = try ServiceDatabase.open(
                directory: settings.dataDirectory,
                name: settings.service,
                durability: settings.durability,
                migrator: migrator
            )
            logger.info("Database ready", metadata: ["path": "\(database.path)", "sync": "\(settings.durability.rawValue)"])
            try await Self.serve(
                settings: settings, services: try makeServices(.sqlite(database), logger), observability: observability,
                logger: logger)
            return
        }
        // The pool runs beside the server and stops after it: calls still
        // draining at shutdown keep their connections.
        let database = try PostgresPool(settings: postgresSettings, logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { await database.run() }
            defer { tasks.cancelAll() }
            try await database.migrate(postgresMigrations)
            try await Self.serve(
                settings: settings, services: try makeServices(.postgres(database), logger),
                observability: observability, logger: logger)
        }
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
                FileHandle.standardOutput.write(Data(line.utf8))
            }
            try await tasks.waitForAll()
        }
    }
}

/// The database a service was started on.
public enum ServiceStorage: Sendable {
    /// `<data-dir>/<service>.sqlite`, in WAL mode.
    case sqlite(DatabasePool)
    /// `--database postgres://…`.
    case postgres(PostgresPool)
}
