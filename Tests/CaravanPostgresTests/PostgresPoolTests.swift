import CaravanCore
import CaravanDomain
import CaravanEchoAPI
import CaravanPostgres
import CaravanTestSupport
import Logging
import PostgresNIO
import Testing

/// The pool, the migrator and the ledger against a real PostgreSQL.
@Suite(
    "PostgreSQL pool, migrations and ledger", .timeLimit(.minutes(2)),
    .enabled(if: TestPostgres.isEnabled, Comment(rawValue: TestPostgres.skipReason)))
struct PostgresPoolTests {
    /// A migration with a visible effect: applied twice, it would insert two rows.
    static let migrations = [
        PostgresMigration("effects-table", statements: ["CREATE TABLE effect (name TEXT NOT NULL)"]),
        PostgresMigration("seed-once", statements: ["INSERT INTO effect (name) VALUES ('seeded')"]),
    ]

    static func count(_ pool: PostgresPool, _ sql: String) async throws -> Int64 {
        try await pool.read { connection, logger in
            for try await value in try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger)
                .decode(Int64.self)
            {
                return value
            }
            return -1
        }
    }

    @Test("Two replicas migrating at once apply each migration once")
    func concurrentMigrations() async throws {
        try await TestPostgres.withFreshDatabase { settings in
            try await TestPostgres.withDatabase(settings, migrations: []) { one in
                try await TestPostgres.withDatabase(settings, migrations: []) { two in
                    async let first: Void = one.migrate(Self.migrations)
                    async let second: Void = two.migrate(Self.migrations)
                    _ = try await (first, second)
                    #expect(try await Self.count(one, "SELECT COUNT(*) FROM effect") == 1)
                    #expect(try await Self.count(two, "SELECT COUNT(*) FROM caravan_migration") == 2)
                    try await one.migrate(Self.migrations)
                    #expect(try await Self.count(two, "SELECT COUNT(*) FROM effect") == 1)
                }
            }
        }
    }

    @Test("A replica waits for another's migration longer than a call's timeout, then finds it done")
    func migrationWaitsForTheLock() async throws {
        try await TestPostgres.withFreshDatabase { settings in
            var settings = settings
            settings.callTimeout = .seconds(1)
            try await TestPostgres.withDatabase(settings, migrations: []) { holder in
                try await TestPostgres.withDatabase(settings, migrations: []) { waiter in
                    let (held, holding) = AsyncStream.makeStream(of: Void.self)
                    // Another replica holding the migration lock for 3 s (a slow seed).
                    let migrating = Task {
                        try await holder.client.withConnection { connection in
                            let logger = Logger(label: "test")
                            try await connection.withTransaction(logger: logger) { connection in
                                _ = try await connection.query(
                                    "SELECT pg_advisory_xact_lock(\(PostgresMigrator.lockKey))", logger: logger
                                ).collect()
                                holding.yield()
                                try await Task.sleep(for: .seconds(3))
                            }
                        }
                    }
                    for await _ in held { break }
                    try await waiter.migrate(Self.migrations)
                    try await migrating.value
                    #expect(try await Self.count(waiter, "SELECT COUNT(*) FROM effect") == 1)
                }
            }
        }
    }

    static func write(_ pool: PostgresPool, key: String, text: String) async throws -> EchoResponse {
        let request = EchoRequest(payload: [], text: text)
        let idempotent = IdempotentWrite(key: key, method: "/test/Write", request: try request.serializedBytes())
        return try await pool.transaction { connection, logger in
            try await IdempotencyLedger.once(
                idempotent, in: PostgresTransaction(connection: connection, logger: logger)
            ) {
                let rows = try await connection.query(
                    "INSERT INTO effect (name) VALUES (\(text)) RETURNING (SELECT COUNT(*) FROM effect)", logger: logger
                ).collect()
                return EchoResponse(payload: [], text: "\(text) #\(try rows[0].decode(Int64.self))")
            }
        }
    }

    @Test("One key sent to two replicas at once writes once; both get the first answer")
    func ledgerUnderConcurrency() async throws {
        try await TestPostgres.withFreshDatabase { settings in
            let migrations = [PostgresTransaction.idempotencyLedgerMigration] + Self.migrations
            try await TestPostgres.withDatabase(settings, migrations: migrations) { one in
                try await TestPostgres.withDatabase(settings, migrations: migrations) { two in
                    for round in 0..<5 {
                        let answers = try await withThrowingTaskGroup(of: EchoResponse.self) { group in
                            for attempt in 0..<8 {
                                let pool = attempt.isMultiple(of: 2) ? one : two
                                group.addTask {
                                    try await Self.write(pool, key: "key-\(round)", text: "round \(round)")
                                }
                            }
                            return try await group.reduce(into: [EchoResponse]()) { $0.append($1) }
                        }
                        #expect(Set(answers.map(\.text)).count == 1, "\(answers.map(\.text))")
                    }
                    // The seed row plus one per key.
                    #expect(try await Self.count(one, "SELECT COUNT(*) FROM effect") == 6)
                }
            }
        }
    }

    @Test("A key reused for another request is INVALID_ARGUMENT; a write that failed leaves its key free")
    func ledgerRules() async throws {
        try await TestPostgres.withMigratedDatabase([PostgresTransaction.idempotencyLedgerMigration] + Self.migrations)
        { pool in
            _ = try await Self.write(pool, key: "k", text: "first")
            await #expect(throws: RPCError.self) { _ = try await Self.write(pool, key: "k", text: "other") }
            do {
                _ = try await Self.write(pool, key: "k", text: "other")
            } catch let error as RPCError {
                #expect(error.code == .invalidArgument)
            }

            let request = try EchoRequest(payload: [], text: "fails").serializedBytes()
            let failing = IdempotentWrite(key: "free", method: "/test/Write", request: request)
            do {
                _ = try await pool.transaction { connection, logger in
                    try await IdempotencyLedger.once(
                        failing, in: PostgresTransaction(connection: connection, logger: logger)
                    ) { () -> EchoResponse in
                        throw RPCError(code: .notFound, message: "nothing to write")
                    }
                }
                Issue.record("the failing write succeeded")
            } catch let error as RPCError {
                #expect(error.code == .notFound)
            }
            _ = try await Self.write(pool, key: "free", text: "fails")
            // The seed, "first", and the retried write: the failed one left nothing.
            #expect(try await Self.count(pool, "SELECT COUNT(*) FROM effect") == 3)
        }
    }

    @Test("A statement longer than the timeout is DEADLINE_EXCEEDED, ended on the server")
    func statementTimeout() async throws {
        try await TestPostgres.withFreshDatabase { settings in
            var settings = settings
            settings.callTimeout = .seconds(1)
            try await TestPostgres.withDatabase(settings, migrations: []) { pool in
                do {
                    try await pool.read { connection, logger in
                        // Rows (and so a statement's error) arrive as they are read.
                        _ = try await connection.query("SELECT pg_sleep(30)", logger: logger).collect()
                    }
                    Issue.record("pg_sleep(30) returned")
                } catch let error as RPCError {
                    #expect(error.code == .deadlineExceeded, "\(error)")
                }
            }
        }
    }

    @Test(
        "Database lost: calls fail UNAVAILABLE without hanging; a long outage replaces the pool's client; back, calls succeed"
    )
    func lostDatabaseRecovers() async throws {
        try await TestPostgres.withFreshDatabase { settings in
            var settings = settings
            settings.callTimeout = .seconds(1)
            try await TestPostgres.withDatabase(settings, migrations: Self.migrations) { pool in
                #expect(try await Self.count(pool, "SELECT COUNT(*) FROM effect") == 1)
                // Refuse new connections and drop the open ones: what the
                // service sees when its database goes away.
                try await TestPostgres.cutOff(settings.database)
                // Calls keep failing, each within the timeout, until the
                // outage has lasted long enough for the client to be replaced.
                let start = ContinuousClock.now
                var failures = 0
                while pool.replacementCount == 0, start.duration(to: .now) < pool.replaceAfter * 3 {
                    do {
                        _ = try await Self.count(pool, "SELECT COUNT(*) FROM effect")
                        Issue.record("a call succeeded while the database was gone")
                    } catch let error as RPCError {
                        #expect(error.code == .unavailable, "\(error)")
                        failures += 1
                    }
                }
                #expect(failures >= 3)
                #expect(pool.replacementCount >= 1, "the client was not replaced during a long outage")
                try await TestPostgres.restore(settings.database)
                let recovered = try await eventually {
                    (try? await Self.count(pool, "SELECT COUNT(*) FROM effect")) == 1
                }
                #expect(recovered, "no call succeeded after the database returned")
            }
        }
    }

    @Test(
        "The pool's limit holds: with every connection busy a call waits, then gets UNAVAILABLE; freed, it goes through"
    )
    func poolLimit() async throws {
        try await TestPostgres.withFreshDatabase { settings in
            var settings = settings
            settings.maximumConnections = 2
            settings.callTimeout = .seconds(1)
            try await TestPostgres.withDatabase(settings, migrations: []) { pool in
                let (held, holding) = AsyncStream.makeStream(of: Void.self)
                let releases = (0..<2).map { _ in AsyncStream.makeStream(of: Void.self) }
                // Two leases take both connections and keep them until
                // released (straight from the client: a call through the
                // pool would be ended by its own timeout).
                let holders = Task {
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        for (released, _) in releases {
                            group.addTask {
                                try await pool.client.withConnection { connection in
                                    _ = try await connection.query("SELECT 1", logger: Logger(label: "test")).collect()
                                    holding.yield()
                                    for await _ in released { break }
                                }
                            }
                        }
                        try await group.waitForAll()
                    }
                }
                var busy = 0
                for await _ in held {
                    busy += 1
                    if busy == 2 { break }
                }
                // Were a third connection opened, this call would succeed.
                do {
                    _ = try await Self.count(pool, "SELECT 1")
                    Issue.record("a third call ran with both connections busy")
                } catch let error as RPCError {
                    #expect(error.code == .unavailable, "\(error)")
                }
                for (_, release) in releases { release.finish() }
                try await holders.value
                #expect(try await Self.count(pool, "SELECT 7") == 7)
            }
        }
    }
}
