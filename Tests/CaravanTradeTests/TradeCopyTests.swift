import CaravanCore
import CaravanPostgres
import CaravanServiceKit
import CaravanTestSupport
import CaravanTrade
import CaravanTradeAPI
import GRDB
import Logging
import Testing

/// `--copy-from-sqlite` on trade's data: the yearly totals are rebuilt by
/// PostgreSQL's trigger, not copied, and must come out equal.
@Suite(
    "Trade: SQLite → PostgreSQL copy", .timeLimit(.minutes(2)),
    .enabled(if: TestPostgres.isEnabled, Comment(rawValue: TestPostgres.skipReason)))
struct TradeCopyTests {
    @Test("Counts, totals, ids and idempotency keys survive the copy; new ids continue after the copied ones")
    func copy() async throws {
        let sqlite = try ServiceDatabase.inMemory(migrator: TradeMigrations.migrator)
        let source = SQLiteTradeStore(database: sqlite)
        _ = try await SyntheticFlowGenerator(seed: 7).generate(count: 3_000, into: sqlite)
        let keyed = try await source.recordFlow(
            sampleFlow(year: 2024, country: "TJ", category: "Aluminium"),
            claim: IdempotencyClaim(key: "copied-key", method: "/m", request: [1, 2, 3]))
        let expected = try await source.flowTotals(year: 2024, country: nil)

        try await TestPostgres.withFreshDatabase { settings in
            try await TestPostgres.withDatabase(settings, migrations: []) { pool in
                let counts = try await TradePostgresMigrations.copyPlan.run(
                    from: sqlite, to: pool, migrations: TradePostgresMigrations.all, replace: false,
                    logger: Logger(label: "test"))
                #expect(counts.first { $0.table == "trade_flow" }?.postgres == 3_001)
                #expect(counts.allSatisfy { $0.sqlite == $0.postgres }, "\(counts)")
                #expect(counts.contains { $0.table == "trade_flow_total" && $0.postgres > 0 })

                let target = PostgresTradeStore(pool)
                let totals = try await target.flowTotals(year: 2024, country: nil)
                #expect(totals.count == expected.count)
                for (copied, original) in zip(Self.sorted(totals), Self.sorted(expected)) {
                    #expect(copied.flowCount == original.flowCount)
                    #expect(abs(copied.valueUSD - original.valueUSD) <= 1e-6 * max(1, original.valueUSD))
                }
                let keyedFlow = try #require(keyed.flow)
                let id = try #require(Int64(keyedFlow.id))
                #expect(try await target.flow(id: id) == keyed.flow)
                // The ledger came across: the key answers as it did on SQLite.
                let again = try await target.recordFlow(
                    sampleFlow(year: 2024, country: "TJ", category: "Aluminium"),
                    claim: IdempotencyClaim(key: "copied-key", method: "/m", request: [1, 2, 3]))
                #expect(again == keyed)
                let next = try await target.recordFlow(sampleFlow(), claim: nil)
                #expect(Int64(next.flow?.id ?? "") == id + 1)

                // A second copy without --replace is refused and changes nothing.
                await #expect(throws: RPCError.self) {
                    _ = try await TradePostgresMigrations.copyPlan.run(
                        from: sqlite, to: pool, migrations: TradePostgresMigrations.all, replace: false,
                        logger: Logger(label: "test"))
                }
                #expect(try await target.flow(id: id + 1) != nil)
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
