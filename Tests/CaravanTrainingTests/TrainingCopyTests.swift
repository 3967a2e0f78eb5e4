import CaravanCore
import CaravanPostgres
import CaravanSQLite
import CaravanServiceMain
import CaravanTestSupport
import CaravanTraining
import CaravanTrainingAPI
import Logging
import Testing

/// `--copy-from-sqlite` on training's data: enrolment ids are the
/// wait-list order, so they must come across unchanged, and new places
/// must queue after the copied ones.
@Suite(
    "Training: SQLite → PostgreSQL copy", .timeLimit(.minutes(2)),
    .enabled(if: TestPostgres.isEnabled, Comment(rawValue: TestPostgres.skipReason)))
struct TrainingCopyTests {
    @Test("Places, statuses and wait-list positions are the same after the copy; the next trainee queues last")
    func copy() async throws {
        try await withTemporarySQLite(TestMigrations.sqlite) { database in
            try await Self.copy(from: database)
        }
    }

    static func copy(from database: SQLiteDatabase) async throws {
        let sqlite = TrainingHarness(database: database)
        let program = try await sqlite.createProgram(capacity: 2)
        var trainees: [Trainee] = []
        for index in 0..<6 {
            let trainee = try await sqlite.registerTrainee("Copied \(index)")
            trainees.append(trainee)
            _ = try await sqlite.enrol(trainee, in: program, key: "enrol-\(index)")
        }
        let before = try await sqlite.allEnrolments(program.id)
        #expect(before.filter { $0.status == .waitlisted }.map(\.waitlistPosition) == [1, 2, 3, 4])

        try await TestPostgres.withFreshDatabase { settings in
            try await TestPostgres.withDatabase(settings, migrations: []) { pool in
                let counts = try await SQLiteToPostgresCopy(tables: TrainingPostgresMigrations.copiedTables).run(
                    from: database, to: pool, migrations: TestMigrations.postgres, replace: false,
                    logger: Logger(label: "test"))
                #expect(counts.allSatisfy { $0.sqlite == $0.postgres }, "\(counts)")
                let postgres = TrainingHarness(store: PostgresTrainingStore(pool))
                #expect(try await postgres.allEnrolments(program.id) == before)
                // The idempotency keys came across: a retry answers as before.
                let retried = try await postgres.enrol(trainees[3], in: program, key: "enrol-3")
                #expect(retried == before[3])
                let late = try await postgres.registerTrainee("After the copy")
                let queued = try await postgres.enrol(late, in: program)
                #expect(queued.status == .waitlisted && queued.waitlistPosition == 5)
                let number = { (id: String) in Int(id.filter(\.isNumber)) ?? 0 }
                #expect(number(queued.id) > before.map { number($0.id) }.max()!)
            }
        }
    }
}
