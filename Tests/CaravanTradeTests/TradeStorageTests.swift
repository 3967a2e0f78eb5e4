import CaravanCore
import CaravanServiceKit
import CaravanTrade
import CaravanTradeAPI
import Foundation
import GRDB
import Testing

@Suite("Storage: seeding on a file, restarts, the synthetic generator", .timeLimit(.minutes(2)))
struct TradeStorageTests {
    /// A temporary directory removed after `body`.
    func withTemporaryDirectory(_ body: (String) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("caravan-trade-tests-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await body(directory)
    }

    @Test("Opening the same file again seeds nothing twice and keeps recorded flows")
    func seedIsIdempotent() async throws {
        try await self.withTemporaryDirectory { directory in
            func open() throws -> DatabasePool {
                try ServiceDatabase.open(directory: directory, name: "trade", migrator: TradeMigrations.migrator)
            }
            let first = try open()
            let store = SQLiteTradeStore(database: first)
            _ = try await store.recordFlow(sampleFlow(), claim: nil)
            try first.close()

            let second = try open()
            let counts = try await second.read { db in
                [
                    try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM published_figure")!,
                    try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM hub")!,
                    try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM hub_published_figure")!,
                    try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM exchange_rate")!,
                    try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM trade_milestone")!,
                    try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM trade_flow")!,
                ]
            }
            #expect(counts == [1, 1, 1, 1, 1, 1])
            let journal = try await second.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }
            #expect(journal == "wal")
            try second.close()
        }
    }

    @Test("Flows cannot be changed behind the totals' back")
    func flowsAreImmutable() async throws {
        let store = try SQLiteTradeStore.inMemory()
        _ = try await store.recordFlow(sampleFlow(value: 5), claim: nil)
        await #expect(throws: DatabaseError.self) {
            try await store.database.write { db in try db.execute(sql: "UPDATE trade_flow SET value_usd = 6") }
        }
        let totals = try await store.flowTotals(year: 2024, country: nil)
        #expect(totals.map(\.valueUSD) == [5])
    }

    @Test("The generator is deterministic per seed and labels every flow synthetic")
    func generator() async throws {
        func firstFlows(seed: UInt64) async throws -> [TradeFlow] {
            let store = try SQLiteTradeStore.inMemory()
            try await SyntheticFlowGenerator(seed: seed).generate(count: 200, into: store.database)
            return try await store.flows(matching: FlowQuery(), after: nil, limit: 500)
        }
        let a = try await firstFlows(seed: 5)
        let b = try await firstFlows(seed: 5)
        let c = try await firstFlows(seed: 6)
        #expect(a.count == 200)
        func strip(_ flows: [TradeFlow]) -> [TradeFlow] {
            flows.map {
                var flow = $0; flow.recordedAtUnixSeconds = 0; return flow
            }
        }
        #expect(strip(a) == strip(b))
        #expect(strip(a) != strip(c))
        #expect(a.allSatisfy { $0.synthetic && $0.source.contains("synthetic") })
        #expect(a.allSatisfy { CountryCode.centralAsia.contains($0.country) && (2015...2024).contains(Int($0.year)) })
    }
}
