import CaravanCore
import CaravanObservability
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
    /// Opens the service's database, serves `makeServices` until SIGTERM or
    /// SIGINT, then drains. Prints `caravan-<service> listening on HOST:PORT`
    /// once bound (scripts and tests wait for that line).
    public static func run(
        settings: ServiceSettings,
        migrator: DatabaseMigrator,
        makeServices: (DatabasePool, Logger) throws -> [any RPCService]
    ) async throws {
        let observability = Observability.bootstrap(settings.observability)
        let logger = Logger(label: "caravan.\(settings.service)")
        let database = try ServiceDatabase.open(
            directory: settings.dataDirectory,
            name: settings.service,
            durability: settings.durability,
            migrator: migrator
        )
        logger.info("Database ready", metadata: ["path": "\(database.path)", "sync": "\(settings.durability.rawValue)"])
        let server = RPCServer(
            services: try makeServices(database, logger), configuration: settings.server,
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
