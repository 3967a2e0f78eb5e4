import CaravanCore
import CaravanPostgres
import CaravanSQLite
import CaravanServiceMain
import CaravanTestSupport
import CaravanTrade
import CaravanTradeAPI
import Logging
import Testing

/// `--copy-from-sqlite` on trade's data: the maintained totals come across
/// with the flows and must come out equal.
@Suite(
    "Trade: SQLite → PostgreSQL copy", .timeLimit(.minutes(2)),
    .enabled(if: TestPostgres.isEnabled, Comment(rawValue: TestPostgres.skipReason)))
struct TradeCopyTests {
    @Test("Counts, totals, ids and idempotency keys survive the copy; new ids continue after the copied ones")
    func copy() async throws {
        try await withTradeHarness(.sqlite) { source in
            guard case .sqlite(let sqlite) = source.database else { return }
            try await Self.copy(from: source, sqlite)
        }
    }

    static func copy(from source: TradeHarness, _ sqlite: SQLiteDatabase) async throws {
        try await source.generateSyntheticFlows(3_000, seed: 7)
        let keyed = try await source.record(
            sampleFlow(year: 2024, country: "TJ", category: "Aluminium"), key: "copied-key")
        let expected = try await source.store.flowTotals(year: 2024, country: nil)

        try await TestPostgres.withFreshDatabase { settings in
            try await TestPostgres.withDatabase(settings, migrations: []) { pool in
                let counts = try await SQLiteToPostgresCopy(tables: TradePostgresMigrations.copiedTables).run(
                    from: sqlite, to: pool, migrations: TradePostgresMigrations.all, replace: false,
                    logger: Logger(label: "test"))
                #expect(counts.first { $0.table == "trade_flow" }?.postgres == 3_001)
                #expect(counts.allSatisfy { $0.sqlite == $0.postgres }, "\(counts)")
                #expect(counts.contains { $0.table == "trade_flow_total" && $0.postgres > 0 })

                let target = TradeHarness(database: .postgres(pool))
                let totals = try await target.store.flowTotals(year: 2024, country: nil)
                #expect(totals.count == expected.count)
                for (copied, original) in zip(Self.sorted(totals), Self.sorted(expected)) {
                    #expect(copied.flowCount == original.flowCount)
                    #expect(abs(copied.valueUSD - original.valueUSD) <= 1e-6 * max(1, original.valueUSD))
                }
                let id = try #require(Int64(keyed.id))
                #expect(try await target.store.flow(id: id) == keyed)
                // The ledger came across: the key answers as it did on SQLite.
                let again = try await target.record(
                    sampleFlow(year: 2024, country: "TJ", category: "Aluminium"), key: "copied-key")
                #expect(again == keyed)
                let next = try await target.record(sampleFlow())
                #expect(Int64(next.id) == id + 1)

                // A second copy without --replace is refused and changes nothing.
                await #expect(throws: RPCError.self) {
                    _ = try await SQLiteToPostgresCopy(tables: TradePostgresMigrations.copiedTables).run(
                        from: sqlite, to: pool, migrations: TradePostgresMigrations.all, replace: false,
                        logger: Logger(label: "test"))
                }
                #expect(try await target.store.flow(id: id + 1) != nil)
            }
        }
    }

    static func sorted(_ totals: [FlowTotal]) -> [FlowTotal] {
        totals.sorted {
            ($0.country, $0.direction.rawValue, $0.category.lowercased(), $0.synthetic ? 1 : 0)
                < ($1.country, $1.direction.rawValue, $1.category.lowercased(), $1.synthetic ? 1 : 0)
        }
    }
}
