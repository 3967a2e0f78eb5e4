import CaravanGatewayAPI
import CaravanLogisticsAPI
import CaravanTestSupport
import CaravanTradeAPI
import CaravanTrainingAPI
import Foundation
import Testing

/// The seed's energy cooperation, the sources and labels users are shown,
/// sections that say they have no data, and the seeded programs' dates,
/// through the real executables' HTTP door.
@Suite("Seed facts through the gateway's HTTP door", .serialized, .timeLimit(.minutes(5)))
struct EnergyEndToEndTests {
    static func get<Message: Decodable>(_ url: String, as type: Message.Type) async throws -> Message {
        try Self.decoded(try await curl([url]), url, as: type)
    }

    /// A routed unary method: POST with its request as JSON.
    static func post<Message: Decodable>(_ url: String, _ json: String, as type: Message.Type) async throws -> Message {
        try Self.decoded(
            try await curl(["-X", "POST", "-H", "Content-Type: application/json", "-d", json, url]), url, as: type)
    }

    static func decoded<Message: Decodable>(_ answer: HTTPAnswer, _ url: String, as type: Message.Type) throws
        -> Message
    {
        try #require(answer.status == 200, "\(url): \(answer.status) \(answer.body)")
        return try JSONDecoder().decode(Message.self, from: Data(answer.body.utf8))
    }

    @Test("GET /v1/energy-projects, the energy sections, no-data sections, sources, labels and program dates")
    func seedFacts() async throws {
        let system = try await WholeSystem.start()
        defer { system.removeDirectories() }
        let base = try await httpBase(system.gateway)

        let all = try await Self.get(base + "/v1/energy-projects", as: ListEnergyProjectsResponse.self).projects
        #expect(
            Set(all.map(\.name)) == [
                "Zhanatas wind farm", "Turgusun hydropower station", "Kaskelen photovoltaic power station",
                "Kazakhstan's first nuclear power plant", "Chinese wind turbine generators for Uzbekistan",
            ])
        let uz = try await Self.get(base + "/v1/energy-projects?country=UZ", as: ListEnergyProjectsResponse.self)
        #expect(uz.projects.map(\.kind) == [.equipmentTrade])
        let refused = try await curl([base + "/v1/energy-projects?country=FR"])
        let refusal = try jsonObject(refused.body)
        #expect(refused.status == 400 && refusal["code"] as? Int == 3, "\(refused.body)")
        // JSON leaves an unpublished capacity out rather than writing 0.
        let raw = try await curl([base + "/v1/energy-projects?country=KZ"])
        #expect(raw.status == 200 && !raw.body.contains("capacityMw"))

        let overview = try await Self.get(base + "/v1/overview?year=2024", as: PartnershipOverviewResponse.self)
        #expect(overview.energy?.outcome?.status == .ok && overview.energy?.projects.count == 5)
        #expect(overview.energy?.projects.first { $0.kind == "nuclear" }?.status == "under consideration")
        // What users are shown: the publication, never a file of the project.
        #expect(overview.trade?.publishedSource == "News brief on China–Central Asia cooperation, end of 2024")
        #expect(overview.trade?.noData == false, "the 2024 total is published")
        #expect(overview.logistics?.published != nil)

        let kz = try await Self.get(base + "/v1/countries/KZ/profile?year=2024", as: CountryProfileResponse.self)
        #expect(kz.energy?.projects.count == 4 && kz.energy?.projects.allSatisfy { $0.country == "KZ" } == true)
        #expect(kz.trade?.outcome?.status == .ok && kz.trade?.noData == true)
        #expect(kz.trade?.noDataMessage.contains("No trade figures for KZ in 2024") == true)
        #expect(kz.training?.noData == true && kz.training?.noDataMessage == "No training programs are hosted in KZ.")
        #expect(kz.logistics?.noData == false && kz.logistics?.noDataMessage == "")
        let tj = try await Self.get(base + "/v1/countries/TJ/profile?year=2024", as: CountryProfileResponse.self)
        #expect(tj.energy?.noData == true && tj.energy?.noDataMessage.contains("No energy cooperation") == true)

        let categories = try await Self.post(
            base + "/v1/caravan.logistics.v1.LogisticsService/ListCargoCategories", "{}",
            as: ListCargoCategoriesResponse.self)
        let notes = Dictionary(uniqueKeysWithValues: categories.categories.map { ($0.id, $0.note) })
        for id in ["auto-parts", "electronics", "industrial-machinery"] {
            #expect(notes[id]?.contains("for the freight trains") == true, "\(id): \(notes[id] ?? "")")
        }
        for id in ["agricultural-products", "renewable-energy-equipment", "wind-turbine-generators"] {
            #expect(notes[id]?.contains("not as freight-train cargo") == true, "\(id): \(notes[id] ?? "")")
        }

        let programs = try await Self.post(
            base + "/v1/caravan.training.v1.TrainingService/ListPrograms", #"{"openForEnrolment":true}"#,
            as: ListProgramsResponse.self
        ).programs
        let today = ISO8601DateFormatter.string(from: Date(), timeZone: .gmt, formatOptions: [.withFullDate])
        #expect(programs.count == 8, "every seeded program is open on a first start")
        #expect(programs.allSatisfy { $0.startDate > today }, "\(programs.map(\.startDate)) vs \(today)")

        _ = try await system.gateway.stop()
        _ = try await system.trade.stop()
        _ = try await system.logistics.stop()
        _ = try await system.training.stop()
    }
}
