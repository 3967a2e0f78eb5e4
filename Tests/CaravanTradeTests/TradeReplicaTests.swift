import CaravanCore
import CaravanPostgres
import CaravanTestSupport
import CaravanTrade
import CaravanTradeAPI
import PostgresNIO
import Testing

/// Two replicas of the trade service — two pools, two services, two
/// clients — on one PostgreSQL database, written to at once.
@Suite(
    "PostgreSQL: two replicas writing at once",
    .enabled(if: TestPostgres.isEnabled, Comment(rawValue: TestPostgres.skipReason)),
    .timeLimit(.minutes(2)))
struct TradeReplicaTests {
    /// Runs `body` with two replicas on one fresh, migrated database.
    func withTwoReplicas(_ body: (TradeHarness, TradeHarness, PostgresPool) async throws -> Void) async throws {
        try await TestPostgres.withMigratedCopy(TradePostgresMigrations.all) { settings in
            try await TestPostgres.withDatabase(settings, migrations: TradePostgresMigrations.all) { first in
                try await TestPostgres.withDatabase(settings, migrations: TradePostgresMigrations.all) { second in
                    try await body(
                        TradeHarness(database: .postgres(first)), TradeHarness(database: .postgres(second)), first)
                }
            }
        }
    }

    @Test("Concurrent flows through both replicas: one flow per key, the same answer from both, exact totals")
    func concurrentFlows() async throws {
        try await self.withTwoReplicas { first, second, pool in
            // Every flow lands in one of two total groups (the categories
            // differ only in case), so the totals' upserts contend; whole
            // dollars keep every sum exact in any order.
            let keys = (0..<24).map { "flow-\($0)" }
            @Sendable func flow(_ index: Int) -> TradeFlow {
                sampleFlow(
                    country: index % 2 == 0 ? "KZ" : "UZ", category: index % 3 == 0 ? "auto parts" : "Auto Parts",
                    value: Double(1_000 + index))
            }
            let answers = try await withThrowingTaskGroup(of: (String, TradeFlow).self) { group in
                for (index, key) in keys.enumerated() {
                    // The same key to both replicas at once, twice each.
                    for replica in [first, second, first, second] {
                        group.addTask { (key, try await replica.record(flow(index), key: key)) }
                    }
                }
                for index in 0..<16 {
                    let replica = index % 2 == 0 ? first : second
                    group.addTask { ("", try await replica.record(flow(100 + index))) }
                }
                return try await group.reduce(into: [(String, TradeFlow)]()) { $0.append($1) }
            }

            let byKey = Dictionary(grouping: answers.filter { !$0.0.isEmpty }, by: \.0)
            for key in keys {
                let flows = byKey[key, default: []].map(\.1)
                #expect(flows.count == 4)
                #expect(Set(flows.map(\.id)).count == 1, "\(key) answered with ids \(flows.map(\.id))")
                #expect(flows.allSatisfy { $0 == flows.first }, "\(key): every answer is the first one")
            }
            let unkeyed = answers.filter { $0.0.isEmpty }.map(\.1)
            #expect(Set(unkeyed.map(\.id)).count == 16)

            // Exactly the answered flows are stored, as seen through either replica.
            let stored = try await second.listAll(pageSize: 7)
            #expect(stored.count == keys.count + 16)
            #expect(Set(stored.map(\.id)) == Set(answers.map(\.1.id)))
            #expect(try await first.listAll(pageSize: 1000).map(\.id) == stored.map(\.id))
            #expect(try await selectCount("SELECT COUNT(*) FROM idempotency_key", pool) == Int64(keys.count))

            let expectedTotal = stored.reduce(0) { $0 + $1.valueUsd }
            for replica in [first, second] {
                let summary = try await replica.client.getSummary(GetSummaryRequest(year: 2024))
                #expect(summary.flowCount == UInt64(stored.count))
                #expect(summary.recordedTotalUsd == expectedTotal)
                #expect(
                    summary.byCountryUsd["KZ", default: 0] + summary.byCountryUsd["UZ", default: 0] == expectedTotal)
            }
            // The maintained rows equal a recount of the flows, group by group.
            let drift = try await selectCount(
                """
                SELECT COUNT(*) FROM trade_flow_total AS total
                FULL JOIN (
                    SELECT year, country, direction, category, synthetic,
                        SUM(value_usd) AS value_usd, COUNT(*) AS flow_count
                    FROM trade_flow GROUP BY year, country, direction, category, synthetic
                ) AS recount USING (year, country, direction, category, synthetic)
                WHERE total.value_usd IS DISTINCT FROM recount.value_usd
                    OR total.flow_count IS DISTINCT FROM recount.flow_count
                """, pool)
            #expect(drift == 0)
            #expect(
                try await selectCount("SELECT COUNT(*) FROM trade_flow_total", pool) == 2, "KZ and UZ, one category")
        }
    }

    @Test("Concurrent sessions at the hub through both replicas: counts and sums exact")
    func concurrentSessions() async throws {
        try await self.withTwoReplicas { first, second, _ in
            let creators = ["Aigerim", "Jasur", "Dilnoza", "Bot"]
            @Sendable func session(_ index: Int) -> LiveStreamSession {
                LiveStreamSession(
                    hub: index % 2 == 0 ? "horgos" : "HORGOS YIWU INTERNATIONAL TRADE CITY",
                    creator: creators[index % creators.count], creatorCountry: index % 3 == 0 ? "UZ" : "KZ",
                    startUnixSeconds: 1_730_000_000 + Int64(index), durationMinutes: 60,
                    newFollowers: UInt64(index), salesCny: Double(100 * index), synthetic: index % 4 == 3)
            }
            let keyed = 0..<10
            let unkeyed = 10..<40
            let answers = try await withThrowingTaskGroup(of: (String, LiveStreamSession).self) { group in
                for index in keyed {
                    for replica in [first, second, first, second] {
                        group.addTask {
                            let response = try await replica.client.recordStreamSession(
                                RecordStreamSessionRequest(session: session(index), idempotencyKey: "s-\(index)"))
                            return ("s-\(index)", try #require(response.session))
                        }
                    }
                }
                for index in unkeyed {
                    let replica = index % 2 == 0 ? first : second
                    group.addTask {
                        let response = try await replica.client.recordStreamSession(
                            RecordStreamSessionRequest(session: session(index)))
                        return ("", try #require(response.session))
                    }
                }
                return try await group.reduce(into: [(String, LiveStreamSession)]()) { $0.append($1) }
            }
            for (key, sessions) in Dictionary(grouping: answers.filter { !$0.0.isEmpty }, by: \.0) {
                #expect(sessions.count == 4)
                #expect(Set(sessions.map(\.1.id)).count == 1, "\(key) answered with ids \(sessions.map(\.1.id))")
            }

            let recorded = Array(keyed) + Array(unkeyed)
            for replica in [first, second] {
                let stats = try await replica.client.hubStats(HubStatsRequest(hub: "Horgos", topCreatorsLimit: 10))
                #expect(stats.sessions == UInt64(recorded.count))
                #expect(stats.syntheticSessions == UInt64(recorded.filter { $0 % 4 == 3 }.count))
                #expect(stats.newFollowers == UInt64(recorded.reduce(0, +)))
                #expect(stats.salesCny == Double(100 * recorded.reduce(0, +)))
                for creator in stats.topCreators {
                    let theirs = recorded.filter {
                        creators[$0 % creators.count] == creator.creator
                            && ($0 % 3 == 0 ? "UZ" : "KZ") == creator.creatorCountry
                    }
                    #expect(creator.sessions == UInt64(theirs.count), "\(creator.creator) \(creator.creatorCountry)")
                    #expect(creator.salesCny == Double(100 * theirs.reduce(0, +)))
                }
                #expect(stats.topCreators.reduce(0) { $0 + $1.sessions } == UInt64(recorded.count))
            }
        }
    }

    @Test("Two replicas migrating one database at once apply each migration once")
    func concurrentMigrations() async throws {
        let names = TradePostgresMigrations.all.map(\.name)
        try await TestPostgres.withFreshDatabase { settings in
            // Pools with no migrations of their own; both migrate below, at once.
            try await TestPostgres.withDatabase(settings, migrations: []) { first in
                try await TestPostgres.withDatabase(settings, migrations: []) { second in
                    async let ranByFirst = first.read { connection, logger in
                        try await PostgresMigrator.migrate(
                            TradePostgresMigrations.all, on: connection, timeout: .seconds(30), logger: logger)
                    }
                    async let ranBySecond = second.read { connection, logger in
                        try await PostgresMigrator.migrate(
                            TradePostgresMigrations.all, on: connection, timeout: .seconds(30), logger: logger)
                    }
                    let ran = try await [ranByFirst, ranBySecond]
                    #expect(ran.flatMap { $0 }.sorted() == names.sorted(), "each applied once: \(ran)")
                    #expect(ran.contains([]), "the replica that waited found nothing left: \(ran)")
                    #expect(
                        try await selectCount("SELECT COUNT(*) FROM caravan_migration", first) == Int64(names.count))

                    // Again, sequentially: nothing to do.
                    let again = try await second.read { connection, logger in
                        try await PostgresMigrator.migrate(
                            TradePostgresMigrations.all, on: connection, timeout: .seconds(30), logger: logger)
                    }
                    #expect(again.isEmpty)
                    try await self.expectSeededOnce(first)
                }
            }
        }
    }

    @Test("The seed run a second time inserts nothing")
    func seedIsIdempotent() async throws {
        try await TestPostgres.withMigratedDatabase(TradePostgresMigrations.all) { pool in
            let seed = try #require(TradePostgresMigrations.all.first { $0.name == "trade-seed-v1" })
            try await pool.transaction { connection, logger in try await seed.apply(connection, logger) }
            try await self.expectSeededOnce(pool)
            let harness = TradeHarness(database: .postgres(pool))
            let stats = try await harness.client.hubStats(HubStatsRequest(hub: "horgos"))
            #expect(stats.published?.followers == 5_000_000)
        }
    }

    func expectSeededOnce(_ pool: PostgresPool, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        var counts: [Int64] = []
        for table in ["published_figure", "trade_milestone", "exchange_rate", "hub", "hub_published_figure"] {
            counts.append(try await selectCount("SELECT COUNT(*) FROM \(table)", pool))
        }
        #expect(counts == [1, 1, 1, 1, 1], sourceLocation: sourceLocation)
    }
}

/// The single BIGINT a counting statement answers.
func selectCount(_ sql: String, _ pool: PostgresPool) async throws -> Int64 {
    try await pool.read { connection, logger in
        let rows = try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger)
        for try await value in rows.decode(Int64.self) { return value }
        return -1
    }
}
