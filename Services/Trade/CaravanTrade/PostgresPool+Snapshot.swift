import CaravanPostgres
import Logging
import PostgresNIO

extension PostgresPool {
    /// Runs `body` in a `REPEATABLE READ READ ONLY` transaction: every
    /// statement sees the same snapshot, as one SQLite read does.
    ///
    /// At READ COMMITTED (``transaction(_:)``) each statement would see
    /// what had committed when it began, so a summary could take this
    /// year's totals before a flow committed and the year before after it.
    /// A read-only transaction at REPEATABLE READ takes no locks and never
    /// fails to serialize.
    func snapshot<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection, Logger) async throws -> T)
        async throws -> T
    {
        try await self.transaction { connection, logger in
            try await connection.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY", logger: logger)
            return try await body(connection, logger)
        }
    }
}
