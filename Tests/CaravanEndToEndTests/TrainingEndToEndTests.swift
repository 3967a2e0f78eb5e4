import CaravanCLI
import CaravanCore
import CaravanDomain
import CaravanServiceKit
import CaravanTCP
import CaravanTestSupport
import CaravanTrainingAPI
import Foundation
import Testing

/// The real `caravan-training` executable on a free port and a temporary
/// data directory.
private struct TrainingServer {
    let process: ServerProcess
    let dataDirectory: String

    static func start(dataDirectory: String) async throws -> TrainingServer {
        let process = try await ServerProcess(
            "caravan-training", ["--port", "0", "--data-dir", dataDirectory, "--log-level", "warning"])
        return TrainingServer(process: process, dataDirectory: dataDirectory)
    }

    var endpoint: Endpoint { Endpoint(self.process.address)! }
}

/// Every enrolment of a program, page by page.
private func allEnrolments(_ client: TrainingServiceClient, _ programID: String) async throws -> [Enrolment] {
    var all: [Enrolment] = []
    var token = ""
    repeat {
        let page = try await client.listEnrolments(
            ListEnrolmentsRequest(programId: programID, pageSize: 200, pageToken: token))
        all += page.enrolments
        token = page.nextPageToken
    } while !token.isEmpty
    return all
}

@Suite("caravan-training end to end", .serialized, .timeLimit(.minutes(5)))
struct TrainingEndToEndTests {
    @Test(
        "500 concurrent enrolments (30 repeated keys) into 30 seats: 30 enrolled, 440 wait-listed 1...440, nobody twice"
    )
    func concurrentEnrolment() async throws {
        let scratch = try TemporaryDirectory("training-e2e")
        defer { scratch.remove() }
        let directory = scratch.path
        let server = try await TrainingServer.start(dataDirectory: directory)
        let configuration = ClientConfiguration(connectionsPerEndpoint: 4)
        // 500 trainees are 500 clients, each honouring the server's pushback (admission control
        // refuses part of such a burst) with a retry budget of its own.
        let pushbackOnly = RetryPolicy(maxAttempts: 20, retryableCodes: [])
        try await withClient(
            server.endpoint, configuration: configuration, retryPolicy: pushbackOnly,
            retryThrottle: RetryThrottle(maxTokens: 10_000)
        ) { rpc in
            let client = TrainingServiceClient(wrapping: rpc)
            let program = try #require(
                try await client.createProgram(
                    CreateProgramRequest(
                        program: TrainingProgram(
                            title: "Rail freight logistics, concurrency test (synthetic)", field: "rail logistics",
                            hostCentre: "Horgos Yiwu International Trade City", hostCity: "Horgos", country: "CN",
                            language: "ru", capacity: 30, startDate: "2099-03-01", endDate: "2099-06-30",
                            synthetic: true))
                ).program)

            // 470 trainees, registered concurrently.
            let trainees = try await withThrowingTaskGroup(of: String.self) { group in
                for index in 0..<470 {
                    group.addTask {
                        let response = try await client.registerTrainee(
                            RegisterTraineeRequest(
                                trainee: Trainee(
                                    name: "Synthetic trainee \(index)", country: CountryCode.centralAsia[index % 5],
                                    synthetic: true),
                                idempotencyKey: "register-\(index)"))
                        return try #require(response.trainee?.id)
                    }
                }
                return try await group.reduce(into: [String]()) { $0.append($1) }
            }
            #expect(Set(trainees).count == 470)

            // 470 enrolments plus 30 repeats of earlier keys, all at once.
            let calls =
                trainees.enumerated().map { ($1, "enrol-\($0)") }
                + (0..<30).map { (trainees[$0 * 15], "enrol-\($0 * 15)") }
            let answers = try await withThrowingTaskGroup(of: (String, Enrolment).self) { group in
                for (trainee, key) in calls.shuffled() {
                    group.addTask {
                        let response = try await client.enrol(
                            EnrolRequest(traineeId: trainee, programId: program.id, idempotencyKey: key))
                        return (key, try #require(response.enrolment))
                    }
                }
                return try await group.reduce(into: [String: [Enrolment]]()) { $0[$1.0, default: []].append($1.1) }
            }
            #expect(answers.count == 470)
            #expect(answers.values.map(\.count).reduce(0, +) == 500)
            #expect(
                answers.values.allSatisfy { list in list.allSatisfy { $0 == list[0] } },
                "a repeated key got a different answer")
            let decided = answers.values.compactMap(\.first)
            #expect(decided.filter { $0.status == .enrolled }.count == 30)
            #expect(
                decided.filter { $0.status == .waitlisted }.map(\.waitlistPosition).sorted()
                    == (1...440).map { UInt32($0) })

            // The server's own view: statistics, the program's counters, the listing.
            let statistics = try await client.statistics(StatisticsRequest(groupBy: .field, country: "CN"))
            let row = try #require(statistics.rows.first { $0.key == "rail logistics" })
            // The seeded rail program (no enrolments) shares the group.
            #expect(row.programs == 2)
            #expect(row.enrolled == 30)
            #expect(row.waitlisted == 440)
            let current = try #require(try await client.getProgram(GetProgramRequest(id: program.id)).program)
            #expect(current.enrolled == 30)
            #expect(current.waitlisted == 440)
            let listed = try await allEnrolments(client, program.id)
            #expect(listed.count == 470)
            #expect(Set(listed.map(\.traineeId)).count == 470, "a trainee holds two places")
            #expect(listed.filter { $0.status == .enrolled }.count == 30)
            let waiting = listed.filter { $0.status == .waitlisted }
            #expect(waiting.map(\.waitlistPosition) == (1...440).map { UInt32($0) })
            // The listing's order (decision order) matches the positions handed out.
            let handedOut = Dictionary(uniqueKeysWithValues: decided.map { ($0.id, $0.waitlistPosition) })
            #expect(waiting.allSatisfy { handedOut[$0.id] == $0.waitlistPosition })
        }
        #expect(try await server.process.stop() == 0, "\(server.process.log)")
    }

    @Test("through `caravan call`: JSON in and out, statuses as exit codes")
    func caravanCall() async throws {
        let scratch = try TemporaryDirectory("training-e2e")
        defer { scratch.remove() }
        let directory = scratch.path
        let server = try await TrainingServer.start(dataDirectory: directory)
        let address = server.process.address
        let service = "caravan.training.v1.TrainingService/"

        func call(_ method: String, _ json: String, key: String? = nil) async throws -> CommandResult {
            var arguments = ["call", "--compact"]
            if let key { arguments += ["--idempotency-key", key] }
            return try await runCommand("caravan", arguments + [address, service + method, json])
        }

        // The seed, filtered by field.
        let seeded = try await call("ListPrograms", #"{"field":"traditional Chinese medicine"}"#)
        #expect(seeded.status == 0, "\(seeded.stderr)")
        let programs = try jsonObject(seeded.stdout)["programs"] as? [[String: Any]] ?? []
        #expect(programs.count == 1)
        #expect(programs.first?["hostCentre"] as? String == "Horgos Yiwu International Trade City")
        #expect(programs.first?["synthetic"] as? Bool == true)

        let created = try await call(
            "CreateProgram",
            #"{"program":{"title":"Wind turbine maintenance (synthetic)","field":"renewable energy technology","hostCentre":"Test centre","hostCity":"Tashkent","country":"UZ","language":"uz","capacity":1,"startDate":"2099-01-10","endDate":"2099-03-10","synthetic":true}}"#
        )
        #expect(created.status == 0, "\(created.stderr)")
        let programID = try #require((try jsonObject(created.stdout)["program"] as? [String: Any])?["id"] as? String)

        var traineeIDs: [String] = []
        for name in ["Aziza", "Timur"] {
            let registered = try await call("RegisterTrainee", #"{"trainee":{"name":"\#(name)","country":"UZ"}}"#)
            #expect(registered.status == 0, "\(registered.stderr)")
            traineeIDs.append(
                try #require((try jsonObject(registered.stdout)["trainee"] as? [String: Any])?["id"] as? String))
        }
        let first = try await call(
            "Enrol", #"{"traineeId":"\#(traineeIDs[0])","programId":"\#(programID)"}"#, key: "cli-1")
        #expect(first.stdout.contains("ENROLMENT_STATUS_ENROLLED"), "\(first.stdout)\(first.stderr)")
        let repeatCall = try await call(
            "Enrol", #"{"traineeId":"\#(traineeIDs[0])","programId":"\#(programID)"}"#, key: "cli-1")
        #expect(repeatCall.stdout == first.stdout)
        let second = try await call("Enrol", #"{"traineeId":"\#(traineeIDs[1])","programId":"\#(programID)"}"#)
        #expect(second.stdout.contains("ENROLMENT_STATUS_WAITLISTED"))
        #expect(second.stdout.contains(#""waitlistPosition":1"#))

        // Statuses: INVALID_ARGUMENT naming the field, NOT_FOUND, ALREADY_EXISTS, FAILED_PRECONDITION.
        let invalid = try await call("RegisterTrainee", #"{"trainee":{"name":"X","country":"Narnia"}}"#)
        #expect(invalid.status == 64 + 3)
        #expect(invalid.stderr.contains("trainee.country"))
        let missing = try await call("GetProgram", #"{"id":"prog-9999"}"#)
        #expect(missing.status == 64 + 5)
        let twice = try await call("Enrol", #"{"traineeId":"\#(traineeIDs[0])","programId":"\#(programID)"}"#)
        #expect(twice.status == 64 + 6)
        let secondEnrolment = try #require(
            (try jsonObject(second.stdout)["enrolment"] as? [String: Any])?["id"] as? String)
        let notEnrolled = try await call("Complete", #"{"enrolmentId":"\#(secondEnrolment)"}"#)
        #expect(notEnrolled.status == 64 + 9)
        #expect(notEnrolled.stderr.contains("FAILED_PRECONDITION"))

        let stats = try await call("Statistics", #"{"groupBy":"STATISTICS_GROUPING_COUNTRY"}"#)
        #expect(stats.status == 0)
        #expect(stats.stdout.contains(#""key":"UZ""#))
        let history = try await call("TraineeHistory", #"{"traineeId":"\#(traineeIDs[1])"}"#)
        #expect(history.stdout.contains("Wind turbine maintenance"))

        #expect(try await server.process.stop() == 0)
    }

    @Test("two server processes on one data directory decide one wait-list")
    func twoProcessesOneFile() async throws {
        let scratch = try TemporaryDirectory("training-e2e")
        defer { scratch.remove() }
        let directory = scratch.path
        let first = try await TrainingServer.start(dataDirectory: directory)
        let second = try await TrainingServer.start(dataDirectory: directory)
        let capacity = 15
        let (programID, trainees) = try await withClient(first.endpoint, retryPolicy: .none) { rpc in
            let client = TrainingServiceClient(wrapping: rpc)
            let program = try #require(
                try await client.createProgram(
                    CreateProgramRequest(
                        program: TrainingProgram(
                            title: "Two replicas (synthetic)", field: "rail logistics", hostCentre: "Test centre",
                            hostCity: "Horgos", country: "CN", language: "ru", capacity: UInt32(capacity),
                            startDate: "2099-01-01", endDate: "2099-02-01", synthetic: true))
                ).program)
            var trainees: [String] = []
            for index in 0..<200 {
                trainees.append(
                    try #require(
                        try await client.registerTrainee(
                            RegisterTraineeRequest(
                                trainee: Trainee(name: "Replica trainee \(index)", country: "TJ", synthetic: true))
                        ).trainee?.id))
            }
            return (program.id, trainees)
        }
        // Half the calls to each process, all at once, each with a key so
        // a retry (after UNAVAILABLE, were the lock wait to time out) is safe.
        try await withClient(first.endpoint, configuration: ClientConfiguration(connectionsPerEndpoint: 2)) { a in
            try await withClient(second.endpoint, configuration: ClientConfiguration(connectionsPerEndpoint: 2)) { b in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for (index, trainee) in trainees.enumerated() {
                        let client = TrainingServiceClient(wrapping: index % 2 == 0 ? a : b)
                        group.addTask {
                            _ = try await client.enrol(
                                EnrolRequest(
                                    traineeId: trainee, programId: programID, idempotencyKey: "replica-\(index)"))
                        }
                    }
                    try await group.waitForAll()
                }
            }
        }
        try await withClient(second.endpoint, retryPolicy: .none) { rpc in
            let listed = try await allEnrolments(TrainingServiceClient(wrapping: rpc), programID)
            #expect(listed.count == 200)
            #expect(Set(listed.map(\.traineeId)).count == 200)
            #expect(listed.filter { $0.status == .enrolled }.count == capacity)
            #expect(
                listed.filter { $0.status == .waitlisted }.map(\.waitlistPosition)
                    == (1...(200 - capacity)).map { UInt32($0) })
        }
        #expect(try await first.process.stop() == 0)
        #expect(try await second.process.stop() == 0)
    }

    @Test("acknowledged enrolments survive kill -9")
    func durability() async throws {
        let scratch = try TemporaryDirectory("training-e2e")
        defer { scratch.remove() }
        let directory = scratch.path
        let count = 60
        var server = try await TrainingServer.start(dataDirectory: directory)
        let (programID, acknowledged) = try await withClient(server.endpoint, retryPolicy: .none) { rpc in
            let client = TrainingServiceClient(wrapping: rpc)
            let program = try #require(
                try await client.createProgram(
                    CreateProgramRequest(
                        program: TrainingProgram(
                            title: "Durability test (synthetic)", field: "digital trade", hostCentre: "Test centre",
                            hostCity: "Horgos", country: "CN", language: "zh", capacity: 20, startDate: "2099-01-01",
                            endDate: "2099-02-01", synthetic: true))
                ).program)
            var acknowledged: [String] = []
            for index in 0..<count {
                let trainee = try #require(
                    try await client.registerTrainee(
                        RegisterTraineeRequest(trainee: Trainee(name: "T\(index)", country: "KZ"))
                    )
                    .trainee)
                let enrolment = try await client.enrol(
                    EnrolRequest(traineeId: trainee.id, programId: program.id, idempotencyKey: "durable-\(index)"))
                acknowledged.append(try #require(enrolment.enrolment?.id))
            }
            return (program.id, acknowledged)
        }
        // No graceful shutdown: the process dies where it stands.
        _ = try await server.process.stop(signal: SIGKILL)

        server = try await TrainingServer.start(dataDirectory: directory)
        try await withClient(server.endpoint, retryPolicy: .none) { rpc in
            let client = TrainingServiceClient(wrapping: rpc)
            let listed = try await allEnrolments(client, programID)
            #expect(listed.map(\.id) == acknowledged)
            #expect(listed.filter { $0.status == .enrolled }.count == 20)
            #expect(listed.filter { $0.status == .waitlisted }.count == count - 20)
            // The ledger survived too: a client retrying after the crash
            // gets the acknowledged answer, not a second place.
            let trainee = try #require(listed.last?.traineeId)
            let retried = try await client.enrol(
                EnrolRequest(traineeId: trainee, programId: programID, idempotencyKey: "durable-\(count - 1)"))
            #expect(retried.enrolment?.id == acknowledged.last)
            #expect(try await allEnrolments(client, programID).count == count)
        }
        #expect(try await server.process.stop() == 0)
    }
}
