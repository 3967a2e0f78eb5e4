import CaravanCore
import CaravanSQLite
import CaravanTestSupport
import CaravanTraining
import CaravanTrainingAPI
import Testing

@Suite("Programs, seed and statistics", .timeLimit(.minutes(1)))
struct ProgramAndStatisticsTests {
    @Test(
        "the seed holds the Horgos hub's programs, labelled synthetic; fields are data",
        arguments: StoreBackend.available)
    func seed(backend: StoreBackend) async throws {
        try await withTrainingHarness(backend) { harness in
            let listed = try await harness.client.listPrograms(ListProgramsRequest(pageSize: 500))
            #expect(listed.programs.count == TrainingSeed.plans.count)
            let fields = Set(listed.programs.map(\.field))
            for field in [
                "e-commerce live-streaming", "vehicle sales and repair", "traditional Chinese medicine",
                "rail logistics", "renewable energy technology",
            ] {
                #expect(fields.contains(field), "seed lacks \(field)")
            }
            #expect(listed.programs.allSatisfy { $0.synthetic && $0.title.contains("synthetic") })
            #expect(
                listed.programs.allSatisfy {
                    $0.hostCentre == "Horgos Yiwu International Trade City" && $0.country == "CN"
                })

            // A field nobody coded for is just data.
            let created = try await harness.createProgram(capacity: 3, field: "Beekeeping")
            #expect(created.field == "Beekeeping")
        }
    }

    @Test("migrating an existing database again seeds nothing twice")
    func seedIsIdempotent() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        for _ in 0..<2 {
            let database = try SQLiteDatabase.open(
                directory: directory.path, name: "training", migrations: TestMigrations.sqlite)
            let count = try database.read { db in try db.one("SELECT COUNT(*) FROM program") { $0.int(0) } }
            #expect(count == TrainingSeed.plans.count)
            await database.close()
        }
    }

    @Test("filters (country, city, field, open) and page tokens", arguments: StoreBackend.available)
    func listing(backend: StoreBackend) async throws {
        try await withTrainingHarness(backend, clock: TestClock.august2027) { harness in
            for index in 0..<7 {
                _ = try await harness.createProgram(
                    capacity: 5, title: "KZ \(index)", field: index % 2 == 0 ? "Rail logistics" : "digital trade",
                    country: "KZ", city: "Almaty")
            }
            _ = try await harness.createProgram(
                capacity: 5, title: "UZ", field: "renewable energy technology", country: "UZ", city: "Tashkent")
            _ = try await harness.createProgram(
                capacity: 5, title: "KZ open", field: "rail logistics", country: "KZ", city: "Almaty",
                start: "2027-09-01", end: "2027-12-01")

            func all(_ request: ListProgramsRequest) async throws -> [TrainingProgram] {
                var request = request
                var programs: [TrainingProgram] = []
                repeat {
                    let page = try await harness.client.listPrograms(request)
                    #expect(page.programs.count <= Int(request.pageSize))
                    programs += page.programs
                    request.pageToken = page.nextPageToken
                } while !request.pageToken.isEmpty
                return programs
            }
            let kz = try await all(ListProgramsRequest(country: "kz", pageSize: 3))
            #expect(kz.count == 8)
            #expect(kz.map(\.id) == kz.map(\.id).sorted { Int($0.dropFirst(5))! < Int($1.dropFirst(5))! })
            #expect(try await all(ListProgramsRequest(hostCity: "TASHKENT", pageSize: 2)).map(\.title) == ["UZ"])
            #expect(try await all(ListProgramsRequest(country: "KZ", field: "rail logistics", pageSize: 2)).count == 5)
            // In August 2027 only the new program and the seed programs ending later are open.
            let open = try await all(ListProgramsRequest(country: "KZ", openForEnrolment: true, pageSize: 2))
            #expect(open.map(\.title) == ["KZ open"])

            // A token is bound to its query.
            let first = try await harness.client.listPrograms(ListProgramsRequest(country: "KZ", pageSize: 2))
            await expectRPCError(.invalidArgument, field: "page_token") {
                _ = try await harness.client.listPrograms(
                    ListProgramsRequest(country: "UZ", pageSize: 2, pageToken: first.nextPageToken))
            }
            await expectRPCError(.invalidArgument, field: "page_token") {
                _ = try await harness.client.listPrograms(ListProgramsRequest(pageToken: "forged"))
            }
            await expectRPCError(.invalidArgument, field: "page_size") {
                _ = try await harness.client.listPrograms(ListProgramsRequest(pageSize: 501))
            }
            await expectRPCError(.invalidArgument, field: "country") {
                _ = try await harness.client.listPrograms(ListProgramsRequest(country: "XX"))
            }
        }
    }

    @Test("statistics by country and by field, with totals and completion rate", arguments: StoreBackend.available)
    func statistics(backend: StoreBackend) async throws {
        try await withTrainingHarness(backend) { harness in
            let kz = try await harness.createProgram(capacity: 2, field: "rail logistics", country: "KZ")
            let uz = try await harness.createProgram(capacity: 1, field: "renewable energy technology", country: "UZ")
            var places: [Enrolment] = []
            for index in 0..<3 {
                places.append(try await harness.enrol(try await harness.registerTrainee("K\(index)"), in: kz))
            }
            places.append(try await harness.enrol(try await harness.registerTrainee("U"), in: uz))
            _ = try await harness.client.complete(CompleteRequest(enrolmentId: places[0].id))

            let byCountry = try await harness.client.statistics(StatisticsRequest(groupBy: .country))
            let seedSeats = TrainingSeed.plans.reduce(0) { $0 + UInt64($1.capacity) }
            #expect(byCountry.rows.map(\.key) == ["CN", "KZ", "UZ"])
            let kzRow = try #require(byCountry.rows.first { $0.key == "KZ" })
            #expect(kzRow.programs == 1)
            #expect(kzRow.seats == 2)
            #expect(kzRow.enrolled == 1)
            #expect(kzRow.completed == 1)
            #expect(kzRow.waitlisted == 1)
            #expect(kzRow.completionRate == 0.5)
            #expect(byCountry.total?.programs == UInt32(TrainingSeed.plans.count) + 2)
            #expect(byCountry.total?.seats == seedSeats + 3)
            #expect(byCountry.total?.enrolled == 2)
            #expect(byCountry.total?.syntheticPrograms == UInt32(TrainingSeed.plans.count) + 2)

            let byField = try await harness.client.statistics(StatisticsRequest(groupBy: .field, country: "KZ"))
            #expect(byField.rows.map(\.key) == ["rail logistics"])
            #expect(byField.total?.completionRate == 0.5)
            await expectRPCError(.invalidArgument, field: "group_by") {
                _ = try await harness.client.statistics(StatisticsRequest(groupBy: StatisticsGrouping(rawValue: 9)))
            }
        }
    }

    @Test(
        "fields group and sort without regard to case, each group named by its first spelling",
        arguments: StoreBackend.available)
    func fieldsIgnoreCase(backend: StoreBackend) async throws {
        try await withTrainingHarness(backend) { harness in
            for field in ["Rail logistics", "digital trade", "rail logistics", "Beekeeping", "RAIL LOGISTICS"] {
                _ = try await harness.createProgram(capacity: 2, field: field, country: "TJ")
            }
            let byField = try await harness.client.statistics(StatisticsRequest(groupBy: .field, country: "TJ"))
            #expect(byField.rows.map(\.key) == ["Beekeeping", "digital trade", "Rail logistics"])
            #expect(byField.rows.map(\.programs) == [1, 1, 3])
            let listed = try await harness.client.listPrograms(
                ListProgramsRequest(country: "TJ", field: "RAIL Logistics"))
            #expect(listed.programs.count == 3)
        }
    }
}
