import CaravanCore
import Logging
import PostgresNIO

/// One step of a service's PostgreSQL schema or seed. Applied once per
/// database, in order, and recorded in `caravan_migration`.
public struct PostgresMigration: Sendable {
    public var name: String
    /// Runs inside the migration transaction.
    public var apply: @Sendable (PostgresConnection, Logger) async throws -> Void

    public init(_ name: String, apply: @escaping @Sendable (PostgresConnection, Logger) async throws -> Void) {
        self.name = name
        self.apply = apply
    }

    /// A migration of plain statements, run one after another (the
    /// extended protocol takes one statement per query).
    public init(_ name: String, statements: [String]) {
        self.init(name) { connection, logger in
            for statement in statements {
                try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
            }
        }
    }
}

/// Brings a database up to a service's migrations.
///
/// Replicas of a service start at the same time against one database:
/// everything runs in one transaction that first takes a transaction-level
/// advisory lock, so exactly one replica applies the missing migrations and
/// the others wait, then find nothing left to do. DDL is transactional in
/// PostgreSQL, so a migration that fails leaves no half-made schema.
public enum PostgresMigrator {
    /// The advisory lock every Caravan migration takes ("CARAVAN" in ASCII).
    public static let lockKey: Int64 = 0x4341_5241_5641_4E

    /// Applies the migrations not yet recorded; answers their names.
    ///
    /// `timeout` replaces the session's statement and lock timeouts (a
    /// call's few seconds) for this transaction: a replica may wait that
    /// long for another to finish migrating, and a seed may take that long.
    @discardableResult
    public static func migrate(
        _ migrations: [PostgresMigration], on connection: PostgresConnection, timeout: Duration, logger: Logger
    ) async throws -> [String] {
        try await connection.withTransaction(logger: logger) { connection in
            let milliseconds = String(timeout.totalMilliseconds)
            try await connection.query("SELECT set_config('statement_timeout', \(milliseconds), true)", logger: logger)
                .collect()
            try await connection.query("SELECT set_config('lock_timeout', \(milliseconds), true)", logger: logger)
                .collect()
            return try await self.migrateInTransaction(migrations, on: connection, logger: logger)
        }
    }

    /// As ``migrate(_:on:logger:)``, inside a transaction the caller holds
    /// (the SQLite → PostgreSQL copy migrates and copies in one).
    public static func migrateInTransaction(
        _ migrations: [PostgresMigration], on connection: PostgresConnection, logger: Logger
    ) async throws -> [String] {
        // Read to the end: a statement's rows, and so its error, arrive as they are read.
        _ = try await connection.query("SELECT pg_advisory_xact_lock(\(Self.lockKey))", logger: logger).collect()
        try await connection.query(
            """
            CREATE TABLE IF NOT EXISTS caravan_migration (
                name TEXT PRIMARY KEY,
                applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
            )
            """, logger: logger)
        var applied: Set<String> = []
        for try await name in try await connection.query("SELECT name FROM caravan_migration", logger: logger)
            .decode(String.self)
        {
            applied.insert(name)
        }
        var ran: [String] = []
        for migration in migrations where !applied.contains(migration.name) {
            try await migration.apply(connection, logger)
            try await connection.query(
                "INSERT INTO caravan_migration (name) VALUES (\(migration.name))", logger: logger)
            ran.append(migration.name)
        }
        return ran
    }
}

extension PostgresPool {
    /// Migrates, retrying while the database cannot be reached for up to
    /// ``PostgresSettings/startupTimeout`` (replicas often start before
    /// their database does).
    public func migrate(_ migrations: [PostgresMigration]) async throws {
        await self.waitUntilRunning()
        let deadline = ContinuousClock.now + self.settings.startupTimeout
        var attempt = 0
        while true {
            attempt += 1
            do {
                // Bounded (the pool would wait for a connection forever), but
                // by the start-up timeout rather than a call's.
                let timeout = self.settings.startupTimeout
                let ran = try await self.withConnection(timeout: timeout) { connection, logger in
                    try await PostgresMigrator.migrate(migrations, on: connection, timeout: timeout, logger: logger)
                }
                self.logger.info(
                    "Database ready", metadata: ["database": "\(self.settings.redactedURL)", "migrated": "\(ran)"])
                return
            } catch {
                let status = RPCError(postgres: error)
                guard status.code == .unavailable, ContinuousClock.now < deadline else { throw status }
                self.logger.warning(
                    "Waiting for the database",
                    metadata: [
                        "database": "\(self.settings.redactedURL)", "attempt": "\(attempt)",
                        "error": "\(status.message)",
                    ])
                try await Task.sleep(for: .seconds(1))
            }
        }
    }
}
