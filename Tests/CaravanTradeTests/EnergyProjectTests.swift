import CaravanCore
import CaravanDomain
import CaravanPostgres
import CaravanSQLite
import CaravanTestSupport
import CaravanTradeAPI
import Foundation
import Testing

@testable import CaravanTrade

@Suite("Energy cooperation projects and the published source", .timeLimit(.minutes(1)))
struct EnergyProjectTests {
    @Test(
        "The seed's energy cooperation, exactly as published: no capacity, no stage guessed",
        arguments: StoreBackend.available)
    func seeded(backend: StoreBackend) async throws {
        try await withTradeHarness(backend) { harness in
            let all = try await harness.client.listEnergyProjects(ListEnergyProjectsRequest()).projects
            #expect(
                all.map(\.name) == [
                    "Kaskelen photovoltaic power station", "Kazakhstan's first nuclear power plant",
                    "Turgusun hydropower station", "Zhanatas wind farm",
                    "Chinese wind turbine generators for Uzbekistan",
                ], "by country, then name")
            #expect(
                all.sorted { $0.id < $1.id } == EnergySeed.projects.sorted { $0.id < $1.id },
                "stored and read back unchanged")
            #expect(all.allSatisfy { $0.capacityMw == nil }, "the source publishes no capacity")
            #expect(all.allSatisfy { !$0.synthetic && $0.source == PublishedSource.chinaCentralAsiaBrief })

            let kinds = Dictionary(uniqueKeysWithValues: all.map { ($0.id, $0.kind) })
            #expect(kinds["zhanatas-wind-farm"] == .wind)
            #expect(kinds["turgusun-hydropower-station"] == .hydro)
            #expect(kinds["kaskelen-photovoltaic-power-station"] == .solar)
            let renewables = all.filter { [.wind, .hydro, .solar].contains($0.kind) }
            #expect(renewables.count == 3 && renewables.allSatisfy { $0.status == .notPublished && $0.country == "KZ" })

            let nuclear = try #require(all.first { $0.kind == .nuclear })
            #expect(nuclear.country == "KZ" && nuclear.status == .underConsideration)
            #expect(nuclear.chinesePartner == "China National Nuclear Corporation")
            #expect(nuclear.description.contains("weighing China National Nuclear Corporation for its first nuclear"))

            let turbines = try #require(all.first { $0.kind == .equipmentTrade })
            #expect(turbines.country == "UZ" && turbines.status == .ongoing)
            #expect(turbines.description.contains("largest destination for Chinese wind turbine generators"))
        }
    }

    @Test("Filtered by partner; a code that is not a partner is refused", arguments: StoreBackend.available)
    func byCountry(backend: StoreBackend) async throws {
        try await withTradeHarness(backend) { harness in
            let kz = try await harness.client.listEnergyProjects(ListEnergyProjectsRequest(country: "kz")).projects
            #expect(kz.count == 4 && kz.allSatisfy { $0.country == "KZ" })
            let uz = try await harness.client.listEnergyProjects(ListEnergyProjectsRequest(country: "UZ")).projects
            #expect(uz.map(\.id) == ["uzbekistan-wind-turbine-generators"])
            #expect(
                try await harness.client.listEnergyProjects(ListEnergyProjectsRequest(country: "TJ")).projects == [])
            for country in ["FR", "XX", "KAZ"] {
                await expectRPCError(.invalidArgument, field: "country") {
                    _ = try await harness.client.listEnergyProjects(ListEnergyProjectsRequest(country: country))
                }
            }
        }
    }

    @Test("Answers name the publication as the source, never a file of ours", arguments: StoreBackend.available)
    func sourcesNameThePublication(backend: StoreBackend) async throws {
        try await withTradeHarness(backend) { harness in
            let sources = try await Self.seededSources(harness)
            #expect(sources.allSatisfy { $0 == PublishedSource.chinaCentralAsiaBrief }, "\(sources)")
        }
    }

    @Test(
        "A database seeded before the publication was named names it once migrated", arguments: StoreBackend.available)
    func sourceMigration(backend: StoreBackend) async throws {
        let before = Array(TradeMigrations.all.prefix { $0.name != "trade-published-source-v4" })
        let beforePostgres = Array(TradePostgresMigrations.all.prefix { $0.name != "trade-published-source-v4" })
        #expect(before.count == TradeMigrations.all.count - 1 && beforePostgres.count == before.count)
        let seededAsV1 = TradeSeed.tablesWithSource.map {
            "UPDATE \($0) SET source = '\(TradeSeed.sourceOfSeedV1)'"
        }
        switch backend {
        case .sqlite:
            try await withTemporaryDirectory { directory in
                let old = try SQLiteDatabase.open(directory: directory, name: "trade", migrations: before)
                try await old.write { db in try db.executeScript(seededAsV1.joined(separator: ";")) }
                await old.close()
                let database = try SQLiteDatabase.open(
                    directory: directory, name: "trade", migrations: TradeMigrations.all)
                let sources = try await Self.seededSources(TradeHarness(database: .sqlite(database)))
                await database.close()
                #expect(sources.allSatisfy { $0 == PublishedSource.chinaCentralAsiaBrief }, "\(sources)")
            }
        case .postgres:
            try await TestPostgres.withFreshDatabase { settings in
                try await TestPostgres.withDatabase(settings, migrations: beforePostgres) { pool in
                    for statement in seededAsV1 { try await TradeHarness(database: .postgres(pool)).execute(statement) }
                }
                try await TestPostgres.withDatabase(settings, migrations: TradePostgresMigrations.all) { pool in
                    let sources = try await Self.seededSources(TradeHarness(database: .postgres(pool)))
                    #expect(sources.allSatisfy { $0 == PublishedSource.chinaCentralAsiaBrief }, "\(sources)")
                }
            }
        }
    }

    /// The sources of the seeded 2024 total and the hub's published figures, as answers give them.
    static func seededSources(_ harness: TradeHarness) async throws -> [String] {
        let summary = try await harness.client.getSummary(GetSummaryRequest(year: 2024))
        let hub = try await harness.client.hubStats(HubStatsRequest(hub: "horgos"))
        return [try #require(summary.published).source, try #require(hub.published).source]
    }
}
