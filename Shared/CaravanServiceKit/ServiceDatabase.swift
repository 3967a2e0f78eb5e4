import CaravanCore
import CaravanPostgres
import Foundation
import GRDB

/// How hard SQLite works to keep a commit.
public enum DatabaseDurability: String, Sendable {
    /// fsync on every commit: a commit survives power loss.
    case full
    /// fsync at checkpoints: a commit survives a crash of the process
    /// (kill -9), not necessarily of the machine.
    case normal
}

/// Opens a service's own SQLite database (WAL mode) and brings its schema
/// and seed data up to date.
///
/// The stores run their queries through `db.cachedStatement(sql:)`:
/// preparing a statement runs SQLite's parser and GRDB's authorizer (which
/// works out the statement's region for observation), about a fifth of a
/// read call's CPU in the trade service's perf profile; a cached statement
/// is prepared once per connection.
public enum ServiceDatabase {
    /// Opens (creating if needed) `<directory>/<name>.sqlite` and migrates it.
    public static func open(
        directory: String,
        name: String,
        durability: DatabaseDurability = .full,
        migrator: DatabaseMigrator
    ) throws -> DatabasePool {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = URL(fileURLWithPath: directory).appendingPathComponent("\(name).sqlite").path
        let pool = try DatabasePool(path: path, configuration: Self.configuration(durability))
        try migrator.migrate(pool)
        return pool
    }

    /// A private in-memory database with the same schema and seed (tests).
    public static func inMemory(migrator: DatabaseMigrator) throws -> DatabaseQueue {
        let queue = try DatabaseQueue(configuration: Self.configuration(.normal))
        try migrator.migrate(queue)
        return queue
    }

    static func configuration(_ durability: DatabaseDurability) -> Configuration {
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        // Several replicas may share one file: wait for the write lock
        // instead of failing at once.
        configuration.busyMode = .timeout(5)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = \(durability == .full ? "FULL" : "NORMAL")")
        }
        return configuration
    }
}

extension RPCError {
    /// UNAVAILABLE for a database that cannot be reached or is busy (SQLite
    /// or PostgreSQL; see ``RPCError/init(postgres:)``), INTERNAL otherwise.
    public init(database error: any Error) {
        if let error = error as? RPCError {
            self = error
        } else if let error = error as? DatabaseError,
            error.resultCode == .SQLITE_BUSY || error.resultCode == .SQLITE_LOCKED
        {
            self = RPCError(code: .unavailable, message: "The database is busy; try again.", cause: error)
        } else {
            // PostgreSQL's failures, RPC-convertible errors, and INTERNAL for the rest.
            self = RPCError(postgres: error)
        }
    }
}
