import CaravanCore
import CaravanInProcess
import CaravanPostgres
import CaravanSQLite
import CaravanTestSupport
import CaravanTrade
import CaravanTradeAPI
import Foundation
import PostgresNIO
import Testing

/// A trade service on a fresh database — a temporary SQLite file, or a fresh
/// migrated PostgreSQL database — called through the in-process transport
/// and the generated client, as a remote caller would.
struct TradeHarness {
    /// The database behind the store, for what the API does not do (bulk
    /// loads, statements that must fail).
    enum Database: Sendable {
        case sqlite(SQLiteDatabase)
        case postgres(PostgresPool)
    }

    let client: TradeServiceClient
    let store: any TradeStore
    let database: Database

    init(database: Database, configuration: TradeServiceProvider.Configuration = .defaults) {
        let store: any TradeStore =
            switch database {
            case .sqlite(let database): SQLiteTradeStore(database: database)
            case .postgres(let pool): PostgresTradeStore(pool)
            }
        let service = TradeServiceProvider(store: store, configuration: configuration)
        let transport = InProcessTransport(serving: [service])
        self.client = TradeServiceClient(wrapping: RPCClient(transport: transport, retryPolicy: .none))
        self.store = store
        self.database = database
    }

    /// Writes `count` synthetic flows straight into the store.
    func generateSyntheticFlows(
        _ count: Int, seed: UInt64, batchSize: Int = SyntheticFlowGenerator.defaultBatchSize
    ) async throws {
        try await SyntheticFlowGenerator(seed: seed, batchSize: batchSize).generate(count: count, into: self.store)
    }

    /// Runs one SQL statement outside the API.
    func execute(_ sql: String) async throws {
        switch self.database {
        case .sqlite(let database):
            try await database.write { db in try db.executeScript(sql) }
        case .postgres(let pool):
            _ = try await pool.read { connection, logger in
                try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger)
            }
        }
    }

    @discardableResult
    func record(_ flow: TradeFlow, key: String = "") async throws -> TradeFlow {
        let response = try await self.client.recordFlow(RecordFlowRequest(flow: flow, idempotencyKey: key))
        return try #require(response.flow)
    }

    /// Every flow matching `filter`, page by page.
    func listAll(_ filter: TradeFlowFilter? = nil, pageSize: UInt32) async throws -> [TradeFlow] {
        var flows: [TradeFlow] = []
        var token = ""
        var pages = 0
        repeat {
            let page = try await self.client.listFlows(
                ListFlowsRequest(filter: filter, pageSize: pageSize, pageToken: token))
            #expect(page.flows.count <= Int(pageSize))
            flows += page.flows
            token = page.nextPageToken
            pages += 1
            try #require(pages < 10_000, "paging does not end")
        } while !token.isEmpty
        return flows
    }
}

/// Runs `body` with a trade service on a fresh database of `backend`, and
/// removes the database afterwards (a PostgreSQL one is dropped).
@discardableResult
func withTradeHarness<T: Sendable>(
    _ backend: StoreBackend,
    configuration: TradeServiceProvider.Configuration = .defaults,
    _ body: (TradeHarness) async throws -> T
) async throws -> T {
    switch backend {
    case .sqlite:
        let database = try SQLiteDatabase.temporary(migrations: TradeMigrations.all)
        do {
            let result = try await body(TradeHarness(database: .sqlite(database), configuration: configuration))
            await database.close()
            return result
        } catch {
            await database.close()
            throw error
        }
    case .postgres:
        return try await TestPostgres.withMigratedDatabase(TradePostgresMigrations.all) { pool in
            try await body(TradeHarness(database: .postgres(pool), configuration: configuration))
        }
    }
}

/// A valid flow to vary in tests.
func sampleFlow(
    year: UInt32 = 2024, month: UInt32 = 0, country: String = "KZ", direction: TradeDirection = .directionExport,
    category: String = "auto parts", value: Double = 1_000_000, synthetic: Bool = false
) -> TradeFlow {
    TradeFlow(
        year: year, month: month, country: country, direction: direction, category: category, valueUsd: value,
        source: "test fixture", synthetic: synthetic)
}
