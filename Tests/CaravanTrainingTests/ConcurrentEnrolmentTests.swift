import CaravanCore
import CaravanSQLite
import CaravanTestSupport
import CaravanTraining
import CaravanTrainingAPI
import Testing

@Suite("Concurrent enrolment against a database file", .timeLimit(.minutes(2)))
struct ConcurrentEnrolmentTests {
    /// Checks the invariants after a burst: exactly `capacity` enrolled,
    /// the rest wait-listed 1..N in id order, no trainee twice, and the
    /// program's counters agree with the rows.
    static func checkInvariants(_ harness: TrainingHarness, program: TrainingProgram, capacity: Int, places: Int)
        async throws
    {
        let all = try await harness.allEnrolments(program.id, pageSize: 1000)
        #expect(all.count == places)
        #expect(Set(all.map(\.traineeId)).count == places, "a trainee holds two places")
        #expect(all.filter { $0.status == .enrolled }.count == capacity)
        let waiting = all.filter { $0.status == .waitlisted }
        #expect(waiting.count == places - capacity)
        #expect(waiting.map(\.waitlistPosition) == (0..<waiting.count).map { UInt32($0 + 1) })
        // Seats went to the first decisions: every enrolled id precedes every wait-listed one.
        let ids = all.map { Int($0.id.dropFirst(4))! }
        let lastEnrolled = zip(all, ids).filter { $0.0.status == .enrolled }.map(\.1).max() ?? 0
        let firstWaiting = zip(all, ids).filter { $0.0.status == .waitlisted }.map(\.1).min() ?? Int.max
        #expect(lastEnrolled < firstWaiting)
        let current = try #require(try await harness.client.getProgram(GetProgramRequest(id: program.id)).program)
        #expect(Int(current.enrolled) == capacity)
        #expect(Int(current.waitlisted) == places - capacity)
    }

    @Test("200 concurrent enrolments, 20 of them repeats, into 12 seats")
    func oneProcess() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let database = try SQLiteDatabase.open(
            directory: directory.path, name: "training", durability: .normal, migrations: TestMigrations.sqlite)
        let harness = TrainingHarness(database: database)
        let program = try await harness.createProgram(capacity: 12)
        try await harness.store.insertTrainees(SyntheticTrainees.make(count: 180))
        let calls = (1...180).map { ($0, "k-\($0)") } + (1...20).map { ($0 * 7, "k-\($0 * 7)") }
        let answers = try await withThrowingTaskGroup(of: (String, Enrolment).self) { group in
            for (trainee, key) in calls.shuffled() {
                group.addTask {
                    let response = try await harness.client.enrol(
                        EnrolRequest(traineeId: "trn-\(trainee)", programId: program.id, idempotencyKey: key))
                    return (key, try #require(response.enrolment))
                }
            }
            var answers: [String: [Enrolment]] = [:]
            for try await (key, enrolment) in group { answers[key, default: []].append(enrolment) }
            return answers
        }
        // Repeats got the first answer.
        #expect(answers.values.allSatisfy { list in list.allSatisfy { $0 == list[0] } })
        let positions = answers.values.compactMap(\.first).filter { $0.status == .waitlisted }.map(\.waitlistPosition)
            .sorted()
        #expect(positions == (1...168).map { UInt32($0) })
        try await Self.checkInvariants(harness, program: program, capacity: 12, places: 180)
        await database.close()
    }

    @Test("two writers on one file (as two processes would) still decide one order")
    func twoWriters() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let first = try SQLiteDatabase.open(
            directory: directory.path, name: "training", durability: .normal, migrations: TestMigrations.sqlite)
        let second = try SQLiteDatabase.open(
            directory: directory.path, name: "training", durability: .normal, migrations: TestMigrations.sqlite)
        let a = TrainingHarness(database: first)
        let b = TrainingHarness(database: second)
        let program = try await a.createProgram(capacity: 10)
        try await a.store.insertTrainees(SyntheticTrainees.make(count: 120))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for trainee in 1...120 {
                let harness = trainee % 2 == 0 ? a : b
                group.addTask {
                    _ = try await harness.client.enrol(EnrolRequest(traineeId: "trn-\(trainee)", programId: program.id))
                }
            }
            try await group.waitForAll()
        }
        try await Self.checkInvariants(b, program: program, capacity: 10, places: 120)
        await first.close()
        await second.close()
    }
}
