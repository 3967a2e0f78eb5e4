import CaravanCore
import CaravanPostgres
import CaravanTestSupport
import CaravanTraining
import CaravanTrainingAPI
import Testing

/// Two replicas of the service on one PostgreSQL database — each with its
/// own connection pool, provider and in-process client — written through
/// at once.
///
/// What would make these fail (each checked by breaking the store):
/// - Without the program row lock (`FOR UPDATE`) in enrol, two enrolments
///   read the same counts: both take the last seat (the CHECK
///   `enrolled + completed <= capacity` refuses the second, an INTERNAL
///   error) or both answer the same wait-list position:
///   `concurrentEnrolments`, `sameKeyOnBothReplicas` and
///   `sameTraineeOnBothReplicas` then fail.
/// - Enrolment ids drawn before the lock (`nextval` first) let a later
///   decision stand earlier in line: the answered positions disagree with
///   the listed ones and a wait-listed id precedes an enrolled one
///   (`concurrentEnrolments`).
/// - Withdrawals that read the place's status before any lock (neither
///   the program's nor the place's) both withdraw a place sent to both
///   replicas: sixteen successes and twelve promotions for eight seats
///   (`concurrentWithdrawals`).
/// - A ledger that reads the key first and records it last lets a key
///   sent to both replicas write twice; the second write fails
///   ALREADY_EXISTS instead of replaying (`sameKeyOnBothReplicas`).
/// - With the lock, a trainee's second enrolment sees the first and the
///   rule refuses it; were the rule raced past, the UNIQUE constraint
///   would refuse it, and the store must still answer in SQLite's words
///   (`sameTraineeOnBothReplicas` accepts only those).
@Suite(
    "Two replicas on one PostgreSQL",
    .enabled(if: TestPostgres.isEnabled, Comment(rawValue: TestPostgres.skipReason)),
    .timeLimit(.minutes(2)))
struct TwoReplicaTests {
    /// A fresh, migrated database; both replicas run the migrations (and find nothing to do).
    static func withTwoReplicas<T: Sendable>(
        _ body: (TrainingHarness, TrainingHarness) async throws -> T
    ) async throws -> T {
        try await TestPostgres.withMigratedCopy(TestMigrations.postgres) { settings in
            try await TestPostgres.withDatabase(settings, migrations: TestMigrations.postgres) { first in
                try await TestPostgres.withDatabase(settings, migrations: TestMigrations.postgres) { second in
                    try await body(
                        TrainingHarness(store: PostgresTrainingStore(first)),
                        TrainingHarness(store: PostgresTrainingStore(second)))
                }
            }
        }
    }

    static func number(_ id: String) -> Int { Int(id.drop { !$0.isNumber })! }

    @Test("many trainees enrol at once through both replicas: exactly N seats, a gapless wait-list in decision order")
    func concurrentEnrolments() async throws {
        try await Self.withTwoReplicas { a, b in
            let capacity = 10
            let trainees = 120
            let program = try await a.createProgram(capacity: UInt32(capacity))
            try await a.store.insertTrainees(SyntheticTrainees.make(count: trainees))
            let answers = try await withThrowingTaskGroup(of: Enrolment.self) { group in
                for trainee in (1...trainees).shuffled() {
                    let replica = trainee % 2 == 0 ? a : b
                    group.addTask {
                        let request = EnrolRequest(traineeId: "trn-\(trainee)", programId: program.id)
                        return try #require(try await replica.client.enrol(request).enrolment)
                    }
                }
                return try await group.reduce(into: [Enrolment]()) { $0.append($1) }
            }
            #expect(answers.filter { $0.status == .enrolled }.count == capacity)
            // Every decision read the counts the previous one left: no position twice, none skipped.
            let positions = answers.filter { $0.status == .waitlisted }.map(\.waitlistPosition).sorted()
            #expect(positions == (1...(trainees - capacity)).map { UInt32($0) })
            // The wait-list (by id) is the order the decisions were taken in.
            let listed = try await b.allEnrolments(program.id, pageSize: 1000)
            let listedPosition = Dictionary(uniqueKeysWithValues: listed.map { ($0.id, $0.waitlistPosition) })
            #expect(answers.allSatisfy { listedPosition[$0.id] == $0.waitlistPosition })
            try await ConcurrentEnrolmentTests.checkInvariants(
                a, program: program, capacity: capacity, places: trainees)
        }
    }

    @Test("concurrent withdrawals through both replicas promote the head of the line once each, in order")
    func concurrentWithdrawals() async throws {
        try await Self.withTwoReplicas { a, b in
            let capacity = 8
            let waiting = 12
            let program = try await a.createProgram(capacity: UInt32(capacity))
            try await a.store.insertTrainees(SyntheticTrainees.make(count: capacity + waiting))
            var places: [Enrolment] = []
            for trainee in 1...(capacity + waiting) {
                let replica = trainee % 2 == 0 ? a : b
                places.append(try await replica.enrol(Trainee(id: "trn-\(trainee)"), in: program))
            }
            let seated = Array(places.prefix(capacity))
            let line = Array(places.dropFirst(capacity))
            #expect(seated.allSatisfy { $0.status == .enrolled })

            // Every seated place is withdrawn through BOTH replicas at once,
            // while readers check the seats never outnumber the capacity.
            let outcomes = try await withThrowingTaskGroup(of: WithdrawResponse?.self) { group in
                for place in seated {
                    for replica in [a, b] {
                        group.addTask {
                            do {
                                return try await replica.client.withdraw(WithdrawRequest(enrolmentId: place.id))
                            } catch let error as RPCError where error.code == .failedPrecondition {
                                #expect(error.message.hasPrefix("enrolment_id: \(place.id) is withdrawn"), "\(error)")
                                return nil
                            }
                        }
                    }
                }
                for reader in 0..<8 {
                    let replica = reader % 2 == 0 ? a : b
                    group.addTask {
                        let seats = try await replica.allEnrolments(program.id, status: .enrolled, pageSize: 1000)
                        #expect(seats.count <= capacity)
                        let current = try await replica.client.getProgram(GetProgramRequest(id: program.id)).program
                        #expect(Int(current?.enrolled ?? 0) <= capacity)
                        return nil
                    }
                }
                return try await group.reduce(into: [WithdrawResponse]()) { all, outcome in
                    if let outcome { all.append(outcome) }
                }
            }
            // One withdrawal per place succeeded (the other found it withdrawn) …
            #expect(outcomes.count == capacity)
            #expect(Set(outcomes.compactMap(\.withdrawn?.id)) == Set(seated.map(\.id)))
            // … and each promoted exactly one place: the first `capacity` in line.
            let promoted = outcomes.compactMap(\.promoted)
            #expect(promoted.count == capacity)
            #expect(promoted.allSatisfy { $0.status == .enrolled })
            #expect(promoted.map(\.id).sorted { Self.number($0) < Self.number($1) } == line.prefix(capacity).map(\.id))
            let stillWaiting = try await a.allEnrolments(program.id, status: .waitlisted)
            #expect(stillWaiting.map(\.id) == line.dropFirst(capacity).map(\.id))
            #expect(stillWaiting.map(\.waitlistPosition) == (1...(waiting - capacity)).map { UInt32($0) })
            let all = try await b.allEnrolments(program.id, pageSize: 1000)
            let current = try #require(try await b.client.getProgram(GetProgramRequest(id: program.id)).program)
            #expect(Int(current.enrolled) == all.filter { $0.status == .enrolled }.count)
            #expect(Int(current.enrolled) == capacity)
            #expect(Int(current.waitlisted) == all.filter { $0.status == .waitlisted }.count)
        }
    }

    @Test("one idempotency key sent to both replicas at once: one enrolment, the same answer twice")
    func sameKeyOnBothReplicas() async throws {
        try await Self.withTwoReplicas { a, b in
            let capacity = 5
            let trainees = 30
            let program = try await a.createProgram(capacity: UInt32(capacity))
            try await a.store.insertTrainees(SyntheticTrainees.make(count: trainees))
            let answers = try await withThrowingTaskGroup(of: (Int, EnrolResponse).self) { group in
                for trainee in 1...trainees {
                    for replica in [a, b] {
                        group.addTask {
                            let request = EnrolRequest(
                                traineeId: "trn-\(trainee)", programId: program.id, idempotencyKey: "enrol-\(trainee)")
                            return (trainee, try await replica.client.enrol(request))
                        }
                    }
                }
                return try await group.reduce(into: [Int: [EnrolResponse]]()) { $0[$1.0, default: []].append($1.1) }
            }
            #expect(answers.count == trainees)
            #expect(answers.values.allSatisfy { $0.count == 2 && $0[0] == $0[1] })
            try await ConcurrentEnrolmentTests.checkInvariants(
                b, program: program, capacity: capacity, places: trainees)
        }
    }

    @Test("one trainee enrolling through both replicas at once gets one place; the other call is ALREADY_EXISTS")
    func sameTraineeOnBothReplicas() async throws {
        try await Self.withTwoReplicas { a, b in
            let capacity = 5
            let trainees = 30
            let program = try await a.createProgram(capacity: UInt32(capacity))
            try await a.store.insertTrainees(SyntheticTrainees.make(count: trainees))
            let outcomes = try await withThrowingTaskGroup(of: (Int, RPCError?).self) { group in
                for trainee in 1...trainees {
                    for replica in [a, b] {
                        group.addTask {
                            do {
                                _ = try await replica.client.enrol(
                                    EnrolRequest(traineeId: "trn-\(trainee)", programId: program.id))
                                return (trainee, nil)
                            } catch let error as RPCError {
                                return (trainee, error)
                            }
                        }
                    }
                }
                return try await group.reduce(into: [Int: [RPCError?]]()) { $0[$1.0, default: []].append($1.1) }
            }
            for (trainee, results) in outcomes {
                let failures = results.compactMap { $0 }
                #expect(results.count == 2 && failures.count == 1, "trn-\(trainee): \(failures)")
                for failure in failures {
                    #expect(failure.code == .alreadyExists)
                    // The rule's words (the second waited for the program lock and
                    // saw the first place), or the UNIQUE backstop's — both SQLite's.
                    #expect(
                        failure.message.hasPrefix("trainee_id: trn-\(trainee) already holds place")
                            || failure.message == "The trainee already holds a place in this program.",
                        "\(failure.message)")
                }
            }
            try await ConcurrentEnrolmentTests.checkInvariants(
                a, program: program, capacity: capacity, places: trainees)
        }
    }

    @Test("a second replica migrating the same database seeds nothing twice")
    func seedIsIdempotent() async throws {
        try await Self.withTwoReplicas { a, b in
            for replica in [a, b] {
                let programs = try await replica.store.listPrograms(ProgramQuery(limit: 500))
                #expect(programs.count == TrainingSeed.plans.count)
            }
        }
    }
}
