import CaravanCore
import CaravanTestSupport
import Logging
import PostgresNIO
import Prometheus
import Synchronization
import Testing
import _ConnectionPoolModule

@testable import CaravanPostgres

/// A registry of the test's own and the pool instruments on it.
private struct ObservedPool {
    let registry = PrometheusCollectorRegistry()
    let metrics: PostgresPoolMetrics

    init() {
        self.metrics = PostgresPoolMetrics(factory: PrometheusMetricsFactory(registry: self.registry))
    }

    var exposition: String { String(decoding: self.registry.emitToBuffer(), as: UTF8.self) }

    func sample(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        prometheusSample(self.exposition, name, labels)
    }
}

/// The messages that reached a handler.
private final class ForwardedLines: Sendable {
    let lines = Watched<[String]>([])

    /// Waits until `message` has arrived `atLeast` times; returns how many times it has.
    func count(_ message: String, atLeast minimum: Int) async -> Int {
        let lines = try? await self.lines.wait(
            for: "\(message) ×\(minimum)", until: { $0.filter { $0 == message }.count >= minimum })
        return lines?.filter { $0 == message }.count ?? 0
    }

    struct Handler: LogHandler {
        let forwarded: ForwardedLines
        var logLevel: Logger.Level
        var metadata: Logger.Metadata = [:]
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { self.metadata[key] }
            set { self.metadata[key] = newValue }
        }
        func log(event: LogEvent) { self.forwarded.lines.update { $0.append("\(event.message)") } }
    }
}

@Suite("PostgreSQL pool metrics", .timeLimit(.minutes(1)))
struct PostgresPoolMetricsTests {
    @Test("Waits, acquisitions, failures by status, replacements and the limit are exported")
    func instruments() {
        let pool = ObservedPool()
        #expect(pool.sample(PostgresPoolMetrics.Name.connectionsOpen) == 0)
        pool.metrics.limit(7)
        pool.metrics.waitBegan()
        pool.metrics.waitBegan()
        pool.metrics.waitBegan()
        #expect(pool.sample(PostgresPoolMetrics.Name.waiting) == 3)
        pool.metrics.waitEnded(waited: .milliseconds(3))
        pool.metrics.waitEnded(waited: nil)
        #expect(pool.sample(PostgresPoolMetrics.Name.waiting) == 1)
        pool.metrics.failed(.unavailable)
        pool.metrics.failed(.unavailable)
        pool.metrics.failed(.deadlineExceeded)
        pool.metrics.replaced()
        #expect(pool.sample(PostgresPoolMetrics.Name.connectionsMax) == 7)
        #expect(pool.sample(PostgresPoolMetrics.Name.acquireDuration + "_count") == 1)
        #expect(pool.sample(PostgresPoolMetrics.Name.errors, ["code": "UNAVAILABLE"]) == 2)
        #expect(pool.sample(PostgresPoolMetrics.Name.errors, ["code": "DEADLINE_EXCEEDED"]) == 1)
        #expect(pool.sample(PostgresPoolMetrics.Name.replacements) == 1)
        #expect(pool.sample(PostgresPoolMetrics.Name.connectFailures) == 0)
        #expect(pool.sample(PostgresPoolMetrics.Name.errors, ["code": "ABORTED"]) == 0)
    }

    @Test("The background logger counts failed connection attempts and forwards lines only at the handler's level")
    func connectFailuresFromTheLog() {
        let pool = ObservedPool()
        let forwarded = ForwardedLines()
        let logger = pool.metrics.counting(
            Logger(label: "test") { _ in ForwardedLines.Handler(forwarded: forwarded, logLevel: .warning) })
        logger.info("Connection creation failed", metadata: ["error": "refused"])
        logger.info("Connection creation failed")
        logger.info("Creating new connection")
        logger.warning("Replacing the database connection pool")
        #expect(pool.sample(PostgresPoolMetrics.Name.connectFailures) == 2)
        #expect(forwarded.lines.value == ["Replacing the database connection pool"])
    }

    @Test("Only the database's failures are counted, not a body's own refusal")
    func databaseFailures() {
        #expect(PostgresPool.isDatabaseFailure(ConnectionPoolError.poolShutdown))
        #expect(!PostgresPool.isDatabaseFailure(RPCError(code: .failedPrecondition, message: "a rule said no")))
        #expect(!PostgresPool.isDatabaseFailure(CancellationError()))
    }

    @Test("A database nobody answers at counts failed connection attempts and an UNAVAILABLE call")
    func unreachable() async throws {
        var settings = try PostgresSettings(url: "postgres://caravan@127.0.0.1:\(try await unusedPort())/caravan")
        settings.callTimeout = .seconds(1)
        let observed = ObservedPool()
        let forwarded = ForwardedLines()
        let pool = try PostgresPool(
            settings: settings,
            logger: Logger(label: "test") { _ in ForwardedLines.Handler(forwarded: forwarded, logLevel: .info) },
            metrics: observed.metrics)
        let running = Task { await pool.run() }
        defer { running.cancel() }
        await pool.waitUntilRunning()
        let error = await #expect(throws: RPCError.self) {
            try await pool.read { connection, logger in _ = try await connection.query("SELECT 1", logger: logger) }
        }
        #expect(error?.code == .unavailable)
        #expect(observed.sample(PostgresPoolMetrics.Name.errors, ["code": "UNAVAILABLE"]) == 1)
        #expect(observed.sample(PostgresPoolMetrics.Name.connectionsOpen) == 0)
        // The call answered at its timeout without waiting for its cancelled
        // request to leave the pool's queue; the waiter is counted until it has.
        while observed.sample(PostgresPoolMetrics.Name.waiting) != 0 {
            try await Task.sleep(for: .milliseconds(20))
        }
        let failures = await forwarded.count("Connection creation failed", atLeast: 1)
        #expect(try #require(observed.sample(PostgresPoolMetrics.Name.connectFailures)) >= Double(failures))
    }
}

@Suite(
    "PostgreSQL pool metrics against a real server", .timeLimit(.minutes(2)),
    .enabled(if: TestPostgres.isEnabled, Comment(rawValue: TestPostgres.skipReason)))
struct PostgresPoolMetricsServerTests {
    @Test("Leases, open connections, acquire times and statement errors follow the calls made")
    func countsFollowCalls() async throws {
        let observed = ObservedPool()
        try await TestPostgres.withFreshDatabase { settings in
            try await TestPostgres.withDatabase(settings, migrations: [], metrics: observed.metrics) { pool in
                let before = observed.sample(PostgresPoolMetrics.Name.acquireDuration + "_count") ?? 0
                let inUseDuringLease = try await pool.read { connection, logger in
                    _ = try await connection.query("SELECT 1", logger: logger)
                    return observed.sample(PostgresPoolMetrics.Name.connectionsInUse)
                }
                #expect(inUseDuringLease == 1)
                for _ in 0..<4 {
                    try await pool.transaction { connection, logger in
                        _ = try await connection.query("SELECT 1", logger: logger)
                    }
                }
                await #expect(throws: RPCError.self) {
                    try await pool.read { connection, logger in
                        _ = try await connection.query("SELECT * FROM no_such_table", logger: logger)
                    }
                }
                await #expect(throws: RPCError.self) {
                    try await pool.transaction { _, _ in
                        throw RPCError(code: .failedPrecondition, message: "a rule said no")
                    }
                }
                #expect(observed.sample(PostgresPoolMetrics.Name.acquireDuration + "_count") == before + 7)
                #expect(observed.sample(PostgresPoolMetrics.Name.connectionsInUse) == 0)
                #expect(observed.sample(PostgresPoolMetrics.Name.waiting) == 0)
                let open = try #require(observed.sample(PostgresPoolMetrics.Name.connectionsOpen))
                #expect(open >= 1 && open <= Double(settings.maximumConnections))
                #expect(observed.sample(PostgresPoolMetrics.Name.errors, ["code": "INTERNAL"]) == 1)
                #expect(observed.sample(PostgresPoolMetrics.Name.errors, ["code": "FAILED_PRECONDITION"]) == nil)
                #expect(observed.sample(PostgresPoolMetrics.Name.errors, ["code": "UNAVAILABLE"]) == 0)
                #expect(observed.sample(PostgresPoolMetrics.Name.connectFailures) == 0)
            }
        }
        // The pool has stopped: its connections closed.
        while observed.sample(PostgresPoolMetrics.Name.connectionsOpen) != 0 {
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}
