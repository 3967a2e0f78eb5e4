import CaravanCore
import CaravanDomain
import CaravanSQLite
import CaravanTestSupport
import CaravanTrade
import CaravanTradeAPI
import Foundation
import Testing

@Suite("Storage: seeding on a file, restarts, the synthetic generator", .timeLimit(.minutes(2)))
struct TradeStorageTests {
    // SQLite only: files, restarts and WAL are SQLite's; PostgreSQL's
    // re-migration and seed are covered in TradeReplicaTests.
    @Test("Opening the same file again seeds nothing twice and keeps recorded flows")
    func seedIsIdempotent() async throws {
        try await withTemporaryDirectory("trade-tests") { directory in
            func open() throws -> SQLiteDatabase {
                try SQLiteDatabase.open(directory: directory, name: "trade", migrations: TradeMigrations.all)
            }
            let first = try open()
            try await TradeHarness(database: .sqlite(first)).record(sampleFlow())
            await first.close()

            let second = try open()
            let counts = try second.read { db in
                try [
                    "published_figure", "hub", "hub_published_figure", "exchange_rate", "trade_milestone", "trade_flow",
                ].map { table in try db.one("SELECT COUNT(*) FROM \(table)") { $0.int64(0) } }
            }
            #expect(counts == [1, 1, 1, 1, 1, 1])
            let journal = try second.read { db in try db.one("PRAGMA journal_mode") { $0.text(0) } }
            #expect(journal == "wal")
            await second.close()
        }
    }

    @Test("Flows cannot be changed behind the totals' back", arguments: StoreBackend.available)
    func flowsAreImmutable(backend: StoreBackend) async throws {
        try await withTradeHarness(backend) { harness in
            try await harness.record(sampleFlow(value: 5))
            let error = await #expect(throws: (any Error).self) {
                try await harness.execute("UPDATE trade_flow SET value_usd = 6")
            }
            #expect(String(describing: error).contains("immutable"), "\(String(describing: error))")
            let totals = try await harness.store.flowTotals(year: 2024, country: nil)
            #expect(totals.map(\.valueUSD) == [5])
        }
    }

    @Test(
        "Deleting flows outside the API is refused: the totals stand with the rows", arguments: StoreBackend.available)
    func deletesAreRefused(backend: StoreBackend) async throws {
        try await withTradeHarness(backend) { harness in
            try await harness.record(sampleFlow(category: "auto parts", value: 5))
            try await harness.record(sampleFlow(category: "Auto Parts", value: 7))
            try await harness.record(sampleFlow(category: "cotton", value: 11))
            let error = await #expect(throws: (any Error).self) {
                try await harness.execute("DELETE FROM trade_flow WHERE category = 'cotton' OR value_usd = 5")
            }
            #expect(String(describing: error).contains("immutable"), "\(String(describing: error))")
            let totals = try await harness.store.flowTotals(year: 2024, country: nil)
            #expect(totals.map(\.valueUSD).sorted() == [11, 12])
            #expect(totals.map(\.flowCount).sorted() == [1, 2])
            let summary = try await harness.client.getSummary(GetSummaryRequest(year: 2024))
            #expect(summary.flowCount == 3)
            #expect(summary.recordedTotalUsd == 23)
        }
    }

    @Test("The generator is deterministic per seed and labels every flow synthetic", arguments: StoreBackend.available)
    func generator(backend: StoreBackend) async throws {
        func firstFlows(seed: UInt64) async throws -> [TradeFlow] {
            try await withTradeHarness(backend) { harness in
                try await harness.generateSyntheticFlows(200, seed: seed)
                return try await harness.store.flows(matching: FlowQuery(), after: nil, limit: 500)
            }
        }
        let a = try await firstFlows(seed: 5)
        let b = try await firstFlows(seed: 5)
        let c = try await firstFlows(seed: 6)
        #expect(a.count == 200)
        #expect(strippingRecordTimes(a) == strippingRecordTimes(b))
        #expect(strippingRecordTimes(a) != strippingRecordTimes(c))
        #expect(a.allSatisfy { $0.synthetic && $0.source.contains("synthetic") })
        #expect(a.allSatisfy { CountryCode.centralAsia.contains($0.country) && (2015...2024).contains(Int($0.year)) })
    }

    @Test(
        "A seed writes the same flows, ids and totals into SQLite and PostgreSQL",
        .enabled(if: TestPostgres.isEnabled, Comment(rawValue: TestPostgres.skipReason)))
    func generatorAgreesAcrossBackends() async throws {
        func generated(_ backend: StoreBackend) async throws -> ([TradeFlow], [FlowTotal]) {
            try await withTradeHarness(backend) { harness in
                // Several batches and a partial last one, so batches join up in order.
                try await harness.generateSyntheticFlows(2_345, seed: 9, batchSize: 1_000)
                let flows = try await harness.listAll(pageSize: 1000)
                return (flows, try await harness.store.flowTotals(year: 2020, country: nil))
            }
        }
        let (sqliteFlows, sqliteTotals) = try await generated(.sqlite)
        let (postgresFlows, postgresTotals) = try await generated(.postgres)
        #expect(sqliteFlows.count == 2_345)
        #expect(strippingRecordTimes(postgresFlows) == strippingRecordTimes(sqliteFlows))
        func grouped(_ totals: [FlowTotal]) -> [String: Int64] {
            Dictionary(
                uniqueKeysWithValues: totals.map {
                    ("\($0.country) \($0.direction.rawValue) \($0.category) \($0.synthetic)", $0.flowCount)
                })
        }
        #expect(grouped(postgresTotals) == grouped(sqliteTotals))
        let sums = zip(postgresTotals.sorted(by: Self.totalOrder), sqliteTotals.sorted(by: Self.totalOrder))
        #expect(sums.allSatisfy { abs($0.valueUSD - $1.valueUSD) < 1e-3 }, "summed in another order, not otherwise")
    }

    static func totalOrder(_ a: FlowTotal, _ b: FlowTotal) -> Bool {
        (a.country, a.direction.rawValue, a.category) < (b.country, b.direction.rawValue, b.category)
    }
}

/// Flows without their recording times, which depend on the clock.
func strippingRecordTimes(_ flows: [TradeFlow]) -> [TradeFlow] {
    flows.map { flow in
        var flow = flow
        flow.recordedAtUnixSeconds = 0
        return flow
    }
}
