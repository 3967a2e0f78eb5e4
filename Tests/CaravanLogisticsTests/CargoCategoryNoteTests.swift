import CaravanLogisticsAPI
import CaravanPostgres
import CaravanSQLite
import CaravanTestSupport
import PostgresNIO
import Testing

@testable import CaravanLogistics

/// The source names cargo in two places: the freight trains' central
/// exports, and the growth areas of trade. Each named category's note says which.
@Suite("Cargo categories say where the source names them", .timeLimit(.minutes(1)))
struct CargoCategoryNoteTests {
    static let freightTrainExports = ["auto-parts", "electronics", "industrial-machinery"]
    static let namedForTrade = ["agricultural-products", "renewable-energy-equipment", "wind-turbine-generators"]

    static func check(_ categories: [CargoCategory]) {
        let notes = Dictionary(uniqueKeysWithValues: categories.map { ($0.id, $0.note) })
        for id in Self.freightTrainExports {
            #expect(notes[id]?.contains("for the freight trains") == true, "\(id): \(notes[id] ?? "absent")")
        }
        for id in Self.namedForTrade {
            #expect(notes[id]?.contains("not as freight-train cargo") == true, "\(id): \(notes[id] ?? "absent")")
        }
        #expect(notes["agricultural-products"]?.contains("growth area of China–Central Asia trade") == true)
        #expect(notes["wind-turbine-generators"]?.contains("Uzbekistan") == true)
    }

    @Test("On a new store", arguments: StoreBackend.available)
    func fresh(backend: StoreBackend) async throws {
        try await withTestService(backend) { service in
            Self.check(try await service.client.listCargoCategories(ListCargoCategoriesRequest()).categories)
        }
    }

    @Test("On a store seeded with the earlier notes, once migrated", arguments: StoreBackend.available)
    func migrated(backend: StoreBackend) async throws {
        let earlier = "UPDATE cargo_category SET note = 'named in the published source' WHERE NOT synthetic"
        switch backend {
        case .sqlite:
            try await withTemporaryDirectory { directory in
                let old = try SQLiteDatabase.open(
                    directory: directory, name: "logistics", migrations: Array(LogisticsMigrations.all.dropLast()))
                try await old.write { db in try db.executeScript(earlier) }
                await old.close()
                let database = try SQLiteDatabase.open(
                    directory: directory, name: "logistics", migrations: LogisticsMigrations.all)
                let categories = try await TestService(store: SQLiteLogisticsStore(database)).client
                    .listCargoCategories(ListCargoCategoriesRequest()).categories
                await database.close()
                Self.check(categories)
            }
        case .postgres:
            try await TestPostgres.withFreshDatabase { settings in
                _ = try await TestPostgres.withDatabase(
                    settings, migrations: Array(LogisticsPostgresMigrations.all.dropLast())
                ) { pool in
                    try await pool.read { connection, logger in
                        try await connection.query(PostgresQuery(unsafeSQL: earlier), logger: logger)
                    }
                }
                try await TestPostgres.withDatabase(settings, migrations: LogisticsPostgresMigrations.all) { pool in
                    Self.check(
                        try await TestService(store: PostgresLogisticsStore(pool)).client
                            .listCargoCategories(ListCargoCategoriesRequest()).categories)
                }
            }
        }
    }
}
