import CaravanCore
import Logging
import PostgresNIO

/// A service's PostgreSQL: one pooled client per process, and the two ways
/// the stores use it — ``read(_:)`` on a pooled connection in autocommit,
/// and ``transaction(_:)``.
///
/// Every call is bounded by ``PostgresSettings/callTimeout``: waiting for a
/// connection while the database is down (the pool keeps retrying in the
/// background, with back-off) ends in UNAVAILABLE instead of a hang, and
/// the next call after the database returns goes through on a new
/// connection, with no restart.
public final class PostgresPool: Sendable {
    public let client: PostgresClient
    public let settings: PostgresSettings
    let logger: Logger

    public init(settings: PostgresSettings, logger: Logger) throws {
        self.settings = settings
        self.logger = logger
        self.client = PostgresClient(configuration: try settings.clientConfiguration(), backgroundLogger: logger)
    }

    /// Runs the connection pool until the task is cancelled; calls wait
    /// for it. Run it in a task that lives as long as the process serves.
    public func run() async {
        await self.client.run()
    }

    /// Runs `body` on a pooled connection; each statement commits on its
    /// own. For reads of one statement, or several that need not agree.
    public func read<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection, Logger) async throws -> T)
        async throws -> T
    {
        try await self.withConnection(timeout: self.settings.callTimeout, body)
    }

    /// Runs `body` on a pooled connection, all of it bounded by `timeout`
    /// instead of the call timeout (migrations at start).
    func withConnection<T: Sendable>(
        timeout: Duration, _ body: @escaping @Sendable (PostgresConnection, Logger) async throws -> T
    ) async throws -> T {
        try await self.bounded(timeout: timeout) {
            try await self.client.withConnection { connection in try await body(connection, self.logger) }
        }
    }

    /// Runs `body`'s reads in one REPEATABLE READ, READ ONLY transaction:
    /// every statement sees the same snapshot, so figures read in parts
    /// (a network and its version, a shipment and its events) agree.
    public func snapshot<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection, Logger) async throws -> T)
        async throws -> T
    {
        try await self.bounded {
            try await self.client.withConnection { connection in
                try await connection.query("START TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY", logger: self.logger)
                do {
                    let value = try await body(connection, self.logger)
                    try await connection.query("COMMIT", logger: self.logger)
                    return value
                } catch {
                    _ = try? await connection.query("ROLLBACK", logger: self.logger)
                    throw error
                }
            }
        }
    }

    /// Runs `body` in one transaction at READ COMMITTED, commits when it
    /// returns, rolls back when it throws.
    ///
    /// READ COMMITTED plus row locks is the whole concurrency story: a
    /// write first locks the rows its decision depends on
    /// (`SELECT … FOR UPDATE`, or an insert into a unique key), so a second
    /// writer on another replica waits for the first to commit and then
    /// reads what it wrote. A deadlock (which the lock order is meant to
    /// rule out) or a serialization failure is retried up to twice.
    public func transaction<T: Sendable>(
        _ body: @escaping @Sendable (PostgresConnection, Logger) async throws -> T
    ) async throws -> T {
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try await self.bounded {
                    try await self.client.withConnection { connection in
                        try await connection.withTransaction(logger: self.logger) { connection in
                            try await body(connection, self.logger)
                        }
                    }
                }
            } catch let error as RPCError where error.code == .aborted && attempt < 3 {
                self.logger.debug("Retrying a transaction", metadata: ["reason": "\(error.message)"])
                try await Task.sleep(for: .milliseconds(Int.random(in: 1...20)))
            }
        }
    }

    /// Runs `operation`, mapping what fails to an RPC status, and gives up
    /// with UNAVAILABLE after the call timeout.
    ///
    /// When the timeout fires the operation is cancelled: a call still
    /// waiting for a connection leaves the pool's queue at once; one that
    /// is running a statement has already been ended by the server's
    /// `statement_timeout`.
    private func bounded<T: Sendable>(
        timeout limit: Duration? = nil, _ operation: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        // A little longer than the server's statement_timeout, so that a
        // statement that runs too long reports DEADLINE_EXCEEDED from the
        // server rather than this UNAVAILABLE.
        let timeout = (limit ?? self.settings.callTimeout) + .milliseconds(500)
        do {
            return try await withThrowingTaskGroup(of: T?.self) { group in
                group.addTask { try await operation() }
                group.addTask {
                    try await Task.sleep(for: timeout)
                    return nil
                }
                defer { group.cancelAll() }
                guard let first = try await group.next(), let value = first else {
                    throw RPCError(
                        code: .unavailable,
                        message: "The database did not answer within \(timeout); try again.")
                }
                return value
            }
        } catch {
            throw RPCError(postgres: error)
        }
    }
}
