import CaravanCore
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
        let level = settings.logLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
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
            interceptors: settings.serviceToken.map { [ServiceTokenInterceptor(token: $0)] } ?? [], logger: logger)
        let group = ServiceGroup(services: [server], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        let name = "caravan-\(settings.service)"
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
