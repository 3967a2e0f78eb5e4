import CaravanCore
import Logging
import PostgresNIO
import Synchronization
import _ConnectionPoolModule

/// A service's PostgreSQL: one pooled client per process, and the two ways
/// the stores use it — ``read(_:)`` on a pooled connection in autocommit,
/// and ``transaction(_:)``.
///
/// Every call is bounded by ``PostgresSettings/callTimeout``: waiting for a
/// connection while the database is down (the pool keeps retrying in the
/// background, with back-off) ends in UNAVAILABLE instead of a hang, and
/// the next call after the database returns goes through on a new
/// connection, with no restart.
///
/// When calls have found no connection for ``replaceAfter`` without a
/// success in between, the client is replaced by a fresh one.
/// postgres-nio's pool backs off up to a minute between attempts after a
/// long outage, and under load in tests it was seen not to reconnect at all
/// after its database came back; a new client starts from a clean state
/// and its first attempt is immediate, so recovery takes at most about
/// ``replaceAfter`` after the database returns.
public final class PostgresPool: Sendable {
    public let settings: PostgresSettings
    let logger: Logger
    /// The pool's background logger: ``logger``, counting failed connection attempts.
    private let backgroundLogger: Logger
    let metrics: PostgresPoolMetrics
    private let state: Mutex<State>
    private let replacements: AsyncStream<PostgresClient>.Continuation
    private let replacementStream: AsyncStream<PostgresClient>
    /// Finished once ``run()`` has started the first client.
    private let started = AsyncStream.makeStream(of: Void.self)

    private struct State {
        var client: PostgresClient
        /// When calls began finding no connection; nil after a success.
        var failingSince: ContinuousClock.Instant?
        var replacedAt: ContinuousClock.Instant?
        var replacements = 0
    }

    /// How long calls must have found no connection before the client is replaced.
    public var replaceAfter: Duration { max(self.settings.callTimeout * 2, .seconds(10)) }

    /// The current client (it changes when one is replaced).
    public var client: PostgresClient { self.state.withLock { $0.client } }

    /// How many times the client has been replaced.
    public var replacementCount: Int { self.state.withLock { $0.replacements } }

    public init(settings: PostgresSettings, logger: Logger, metrics: PostgresPoolMetrics = PostgresPoolMetrics()) throws
    {
        self.settings = settings
        self.logger = logger
        self.metrics = metrics
        self.backgroundLogger = metrics.counting(logger)
        metrics.limit(settings.maximumConnections)
        let client = PostgresClient(
            configuration: try settings.clientConfiguration(), backgroundLogger: self.backgroundLogger)
        self.state = Mutex(State(client: client))
        (self.replacementStream, self.replacements) = AsyncStream.makeStream(of: PostgresClient.self)
    }

    /// Runs the connection pool (and any that replace it) until the task is
    /// cancelled; calls wait for it. Run it in a task that lives as long as
    /// the process serves.
    public func run() async {
        var running: [Task<Void, Never>] = []
        let first = self.client
        running.append(
            Task {
                self.started.continuation.finish()
                await first.run()
            })
        for await next in self.replacementStream {
            // The old client is told to stop, not waited for: a wedged pool
            // must not hold up its replacement.
            running.last?.cancel()
            running.append(Task { await next.run() })
        }
        // Cancelled (the stream ends): stop every client, waiting for the
        // current one at most a few seconds.
        for task in running { task.cancel() }
        if let current = running.last {
            await Self.wait(for: current, atMost: .seconds(5))
        }
    }

    /// Returns once ``run()`` has started the pool: a connection leased
    /// before that waits anyway, but postgres-nio logs a warning for it.
    public func waitUntilRunning() async {
        for await _ in self.started.stream {}
    }

    /// Waits for `task` to end, or `limit`, whichever comes first.
    static func wait(for task: Task<Void, Never>, atMost limit: Duration) async {
        await firstOf({ await task.value }, { try? await Task.sleep(for: limit) })
    }

    /// Notes a call's outcome; replaces the client after ``replaceAfter``
    /// of calls finding no connection.
    private func record(connected: Bool) {
        let now = ContinuousClock.now
        let replacement: PostgresClient? = self.state.withLock { state in
            if connected {
                state.failingSince = nil
                return nil
            }
            let since = state.failingSince ?? now
            state.failingSince = since
            guard since.duration(to: now) >= self.replaceAfter,
                state.replacedAt.map({ $0.duration(to: now) >= self.replaceAfter }) ?? true,
                let configuration = try? self.settings.clientConfiguration()
            else { return nil }
            state.client = PostgresClient(configuration: configuration, backgroundLogger: self.backgroundLogger)
            state.replacedAt = now
            state.failingSince = now
            state.replacements += 1
            return state.client
        }
        if let replacement {
            self.metrics.replaced()
            self.logger.warning(
                "Replacing the database connection pool: no connection for a while",
                metadata: ["database": "\(self.settings.redactedURL)", "after": "\(self.replaceAfter)"])
            self.replacements.yield(replacement)
        }
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
            try await self.leased { connection in try await body(connection, self.logger) }
        }
    }

    /// Runs `body`'s reads in one REPEATABLE READ, READ ONLY transaction:
    /// every statement sees the same snapshot, so figures read in parts
    /// (a network and its version, a shipment and its events) agree.
    public func snapshot<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection, Logger) async throws -> T)
        async throws -> T
    {
        try await self.bounded {
            try await self.leased { connection in
                try await connection.query(
                    "START TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY", logger: self.logger)
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
                    try await self.leased { connection in
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

    /// Runs `body` on a connection leased from the current client,
    /// counted in ``metrics``: the wait for it, and the lease itself.
    private func leased<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        let asked = ContinuousClock.now
        self.metrics.waitBegan()
        var waiting = true
        defer { if waiting { self.metrics.waitEnded(waited: nil) } }
        return try await self.client.withConnection { connection in
            waiting = false
            self.metrics.waitEnded(waited: asked.duration(to: .now))
            self.metrics.leased(connection)
            defer { self.metrics.released() }
            return try await body(connection)
        }
    }

    /// Runs `operation`, mapping what fails to an RPC status, and gives up
    /// with UNAVAILABLE after the call timeout.
    ///
    /// When the timeout fires the operation is cancelled and the call
    /// answers at once, without waiting for the operation to wind down: a
    /// call waiting for a connection leaves the pool's queue, one running a
    /// statement has already been ended by the server's `statement_timeout`
    /// — and if the pool itself is wedged (it was seen not to let a
    /// cancelled waiter go), the caller is not held with it. A write whose
    /// outcome is then unknown is safe to retry with its idempotency key.
    private func bounded<T: Sendable>(
        timeout limit: Duration? = nil, _ operation: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        // A little longer than the server's statement_timeout, so that a
        // statement that runs too long reports DEADLINE_EXCEEDED from the
        // server rather than this UNAVAILABLE.
        let timeout = (limit ?? self.settings.callTimeout) + .milliseconds(500)
        let work = Task { try await operation() }
        let outcome: Result<T, any Error>? = await withTaskCancellationHandler {
            await firstOf(
                { await work.result },
                {
                    try? await Task.sleep(for: timeout)
                    return nil
                })
        } onCancel: {
            work.cancel()
        }
        do {
            guard let outcome else {
                work.cancel()
                self.metrics.failed(.unavailable)
                throw RPCError(code: .unavailable, message: "The database did not answer within \(timeout); try again.")
            }
            let value = try outcome.get()
            self.record(connected: true)
            return value
        } catch {
            let status = RPCError(postgres: error)
            if Self.isDatabaseFailure(error) { self.metrics.failed(status.code) }
            // UNAVAILABLE is "no connection"; any other answer came from the server.
            self.record(connected: status.code != .unavailable)
            throw status
        }
    }
}

extension PostgresPool {
    /// Whether `error` came from PostgreSQL or the pool, rather than from
    /// the body's own decision (a rule refusing a write inside a transaction).
    static func isDatabaseFailure(_ error: any Error) -> Bool {
        switch error {
        case let error as PostgresTransactionError:
            guard let inner = error.closureError ?? error.beginError ?? error.commitError else { return true }
            return Self.isDatabaseFailure(inner)
        case is PSQLError, is ConnectionPoolError:
            return true
        default:
            return false
        }
    }
}

/// The answer of whichever of `a` and `b` finishes first. The other is
/// cancelled and left to finish on its own (a task group would wait for it,
/// which is what this exists to avoid).
func firstOf<T: Sendable>(
    _ a: @escaping @Sendable () async -> T, _ b: @escaping @Sendable () async -> T
) async -> T {
    let race = Race()
    return await withCheckedContinuation { continuation in
        let tasks = [a, b].map { body in
            Task {
                let value = await body()
                if race.win() { continuation.resume(returning: value) }
            }
        }
        race.track(tasks)
    }
}

/// Who finished first, and the runners to stop once someone has.
private final class Race: Sendable {
    private let state = Mutex<(won: Bool, runners: [Task<Void, Never>])>((false, []))

    /// True for the first caller only; cancels the runners.
    func win() -> Bool {
        let (first, runners) = self.state.withLock { state -> (Bool, [Task<Void, Never>]) in
            defer { state.won = true }
            return (!state.won, state.runners)
        }
        if first { for runner in runners { runner.cancel() } }
        return first
    }

    /// Keeps the runners, cancelling them at once if the race is already won.
    func track(_ runners: [Task<Void, Never>]) {
        let won = self.state.withLock { state -> Bool in
            state.runners = runners
            return state.won
        }
        if won { for runner in runners { runner.cancel() } }
    }
}
