import CaravanCLI
import CaravanCore
import CaravanLogisticsAPI
import CaravanPostgres
import CaravanTCP
import CaravanTestSupport
import CaravanTradeAPI
import CaravanTrainingAPI
import Foundation
import Testing

/// The real executables on PostgreSQL: replicas of each service on one
/// database taking writes at once, a database that goes away and comes
/// back, and the SQLite → PostgreSQL copy.
@Suite(
    "Services on PostgreSQL, as processes", .serialized, .timeLimit(.minutes(5)),
    .enabled(if: TestPostgres.isEnabled, Comment(rawValue: TestPostgres.skipReason)))
struct PostgresEndToEndTests {
    func start(_ service: String, database url: String, _ extra: [String] = []) async throws -> ServerProcess {
        try await ServerProcess(
            "caravan-\(service)", ["--port", "0", "--database", url, "--log-level", "warning"] + extra,
            timeout: .seconds(60))
    }

    func withClients<T: Sendable>(
        _ one: ServerProcess, _ two: ServerProcess, _ body: (RPCClient, RPCClient) async throws -> T
    ) async throws -> T {
        try await withClient(one) { a in try await withClient(two) { b in try await body(a, b) } }
    }

    static let options = CallOptions(timeout: .seconds(30))

    @Test("Two replicas of each service on one PostgreSQL each: concurrent writes through both stay exact")
    func twoReplicasEach() async throws {
        try await TestPostgres.withFreshDatabase { tradeDB in
            try await TestPostgres.withFreshDatabase { logisticsDB in
                try await TestPostgres.withFreshDatabase { trainingDB in
                    // Both replicas of a service start at once: one migrates, the other waits on the lock.
                    async let tradeA = self.start("trade", database: TestPostgres.url(for: tradeDB))
                    async let tradeB = self.start("trade", database: TestPostgres.url(for: tradeDB))
                    async let logisticsA = self.start("logistics", database: TestPostgres.url(for: logisticsDB))
                    async let logisticsB = self.start("logistics", database: TestPostgres.url(for: logisticsDB))
                    async let trainingA = self.start("training", database: TestPostgres.url(for: trainingDB))
                    async let trainingB = self.start("training", database: TestPostgres.url(for: trainingDB))
                    let servers = try await [tradeA, tradeB, logisticsA, logisticsB, trainingA, trainingB]
                    do {
                        try await self.tradeWrites(servers[0], servers[1])
                        try await self.logisticsWrites(servers[2], servers[3])
                        try await self.trainingWrites(servers[4], servers[5])
                    } catch {
                        for server in servers { _ = try? await server.stop() }
                        throw error
                    }
                    for server in servers {
                        #expect(try await server.stop() == 0, "\(server.log)")
                    }
                }
            }
        }
    }

    /// Ten idempotency keys, each sent to both replicas at once: ten flows, each answered twice alike.
    func tradeWrites(_ one: ServerProcess, _ two: ServerProcess) async throws {
        try await self.withClients(one, two) { a, b in
            let (first, second) = (TradeServiceClient(wrapping: a), TradeServiceClient(wrapping: b))
            for index in 0..<10 {
                let request = RecordFlowRequest(
                    flow: TradeFlow(
                        year: 2024, month: 5, country: "UZ", direction: .directionImport, category: "cotton yarn",
                        valueUsd: 1_000 * Double(index + 1), source: "postgres e2e"),
                    idempotencyKey: "pg-e2e-\(index)")
                async let x = first.recordFlow(request, options: Self.options)
                async let y = second.recordFlow(request, options: Self.options)
                let (answerA, answerB) = try await (x, y)
                #expect(answerA.flow?.id == answerB.flow?.id)
            }
            let listed = try await second.listFlows(
                ListFlowsRequest(filter: TradeFlowFilter(country: "UZ"), pageSize: 100), options: Self.options)
            #expect(listed.flows.count == 10)
            #expect(listed.flows.map(\.valueUsd).reduce(0, +) == 55_000)
        }
    }

    /// Sixteen delays of one shipment, half through each replica: none lost.
    func logisticsWrites(_ one: ServerProcess, _ two: ServerProcess) async throws {
        try await self.withClients(one, two) { a, b in
            let (first, second) = (LogisticsServiceClient(wrapping: a), LogisticsServiceClient(wrapping: b))
            let booked = try #require(
                try await first.bookShipment(
                    BookShipmentRequest(
                        originCityId: "xian", destinationCityId: "duisburg", cargoCategoryId: "electronics",
                        containersTeu: 2), options: Self.options
                ).shipment)
            _ = try await second.recordShipmentEvent(
                RecordShipmentEventRequest(shipmentId: booked.id, kind: .departed), options: Self.options)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<16 {
                    let client = index.isMultiple(of: 2) ? first : second
                    group.addTask {
                        _ = try await client.recordShipmentEvent(
                            RecordShipmentEventRequest(shipmentId: booked.id, kind: .delayed, delayHours: 2),
                            options: Self.options)
                    }
                }
                try await group.waitForAll()
            }
            let track = try await first.trackShipment(TrackShipmentRequest(id: booked.id), options: Self.options)
            #expect(track.events.map(\.sequence) == Array(1...18))
            #expect(track.shipment?.etaUnixSeconds == booked.etaUnixSeconds + 16 * 2 * 3600)
        }
    }

    /// Twelve trainees enrolling at once into five seats, through both replicas.
    func trainingWrites(_ one: ServerProcess, _ two: ServerProcess) async throws {
        try await self.withClients(one, two) { a, b in
            let (first, second) = (TrainingServiceClient(wrapping: a), TrainingServiceClient(wrapping: b))
            let program = try #require(
                try await first.createProgram(
                    CreateProgramRequest(
                        program: TrainingProgram(
                            title: "Rail dispatching (e2e)", field: "rail logistics", hostCentre: "Test centre",
                            hostCity: "Almaty", country: "KZ", language: "ru", capacity: 5, startDate: "2027-03-01",
                            endDate: "2027-06-30", synthetic: true)), options: Self.options
                ).program)
            var trainees: [Trainee] = []
            for index in 0..<12 {
                let response = try await second.registerTrainee(
                    RegisterTraineeRequest(trainee: Trainee(name: "Trainee \(index)", country: "KG", synthetic: true)),
                    options: Self.options)
                trainees.append(try #require(response.trainee))
            }
            let enrolments = try await withThrowingTaskGroup(of: Enrolment.self) { group in
                for (index, trainee) in trainees.enumerated() {
                    let client = index.isMultiple(of: 2) ? first : second
                    group.addTask {
                        try #require(
                            try await client.enrol(
                                EnrolRequest(traineeId: trainee.id, programId: program.id), options: Self.options
                            ).enrolment)
                    }
                }
                return try await group.reduce(into: [Enrolment]()) { $0.append($1) }
            }
            #expect(enrolments.filter { $0.status == .enrolled }.count == 5)
            let positions = enrolments.filter { $0.status == .waitlisted }.map(\.waitlistPosition).sorted()
            #expect(positions == Array(1...7))
            let stored = try #require(
                try await second.getProgram(GetProgramRequest(id: program.id), options: Self.options).program)
            #expect(stored.enrolled == 5 && stored.waitlisted == 7)
        }
    }

    @Test("The database goes away: calls get UNAVAILABLE, no hang; it comes back: the same process serves again")
    func lostDatabase() async throws {
        try await TestPostgres.withFreshDatabase { database in
            let server = try await self.start(
                "logistics", database: TestPostgres.url(for: database), ["--database-timeout", "1"])
            do {
                try await withClient(server) { rpc in
                    let client = LogisticsServiceClient(wrapping: rpc)
                    _ = try await client.countShipments(CountShipmentsRequest(), options: Self.options)
                    try await TestPostgres.cutOff(database.database)
                    for _ in 0..<3 {
                        do {
                            _ = try await client.countShipments(CountShipmentsRequest(), options: Self.options)
                            Issue.record("a call succeeded while the database was gone")
                        } catch let error as RPCError {
                            #expect(error.code == .unavailable, "\(error)")
                        }
                    }
                    try await TestPostgres.restore(database.database)
                    let served = try await eventually {
                        (try? await client.countShipments(CountShipmentsRequest(), options: Self.options)) != nil
                    }
                    #expect(served, "not served again after the database returned")
                    #expect(server.process.isRunning)
                }
            } catch {
                _ = try? await server.stop()
                throw error
            }
            #expect(try await server.stop() == 0, "\(server.log)")
        }
    }

    @Test("SQLite → PostgreSQL: the copy matches every table's count; the service then serves the copied data")
    func copyFromSQLite() async throws {
        let directory = try TemporaryDirectory("copy-e2e")
        defer { directory.remove() }
        let sqlite = try await ServerProcess(
            "caravan-logistics",
            ["--port", "0", "--data-dir", directory.path, "--sync", "normal", "--log-level", "warning"])
        var booked: [String] = []
        try await withClient(sqlite) { rpc in
            let client = LogisticsServiceClient(wrapping: rpc)
            for index in 0..<5 {
                let shipment = try await client.bookShipment(
                    BookShipmentRequest(
                        originCityId: "xian", destinationCityId: "duisburg", cargoCategoryId: "auto-parts",
                        containersTeu: UInt32(index + 1), idempotencyKey: "copy-\(index)"), options: Self.options
                ).shipment
                booked.append(try #require(shipment?.id))
            }
            _ = try await client.recordShipmentEvent(
                RecordShipmentEventRequest(shipmentId: booked[0], kind: .departed), options: Self.options)
        }
        #expect(try await sqlite.stop() == 0)

        try await TestPostgres.withFreshDatabase { database in
            let url = TestPostgres.url(for: database)
            let copy = try await runCommand(
                "caravan-logistics",
                ["--database", url, "--copy-from-sqlite", directory.path, "--log-level", "warning"],
                timeout: .seconds(120))
            #expect(copy.status == 0, "\(copy.stderr)")
            #expect(copy.stdout.contains("row counts match"), "\(copy.stdout)")
            let shipmentLine = copy.stdout.split(separator: "\n").first { $0.hasPrefix("shipment ") }
            #expect(shipmentLine?.split(separator: " ").map(String.init) == ["shipment", "5", "5"])
            #expect(
                copy.stdout.contains(":***@") && !copy.stdout.contains(":\(database.password ?? "")@"), "\(copy.stdout)"
            )

            // Again, without --replace: refused, nothing touched.
            let again = try await runCommand(
                "caravan-logistics", ["--database", url, "--copy-from-sqlite", directory.path], timeout: .seconds(120))
            #expect(again.status != 0)
            #expect(again.stderr.contains("--replace"), "\(again.stderr)")

            let server = try await self.start("logistics", database: url)
            do {
                try await withClient(server) { rpc in
                    let client = LogisticsServiceClient(wrapping: rpc)
                    let track = try await client.trackShipment(
                        TrackShipmentRequest(id: booked[0]), options: Self.options)
                    #expect(track.events.map(\.kind) == [.booked, .departed])
                    // The same key answers as it did on SQLite; a new booking takes the next number.
                    let repeated = try await client.bookShipment(
                        BookShipmentRequest(
                            originCityId: "xian", destinationCityId: "duisburg", cargoCategoryId: "auto-parts",
                            containersTeu: 3, idempotencyKey: "copy-2"), options: Self.options)
                    #expect(repeated.shipment?.id == booked[2])
                    let next = try await client.bookShipment(
                        BookShipmentRequest(
                            originCityId: "xian", destinationCityId: "duisburg", cargoCategoryId: "auto-parts",
                            containersTeu: 1), options: Self.options)
                    #expect(next.shipment?.id == "shp-00000006")
                }
            } catch {
                _ = try? await server.stop()
                throw error
            }
            #expect(try await server.stop() == 0)
        }
    }
}
