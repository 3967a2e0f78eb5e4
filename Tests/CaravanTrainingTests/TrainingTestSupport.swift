import CaravanCore
import CaravanInProcess
import CaravanPostgres
import CaravanSQLite
import CaravanTestSupport
import CaravanTraining
import CaravanTrainingAPI
import Foundation
import Testing

/// Fixed instants, so the calendar rules do not depend on today.
enum TestClock {
    /// 2027-01-15 12:00 UTC: before every seeded 2027 program starts.
    static let january2027: Int64 = 1_800_014_400
    /// 2027-08-01 12:00 UTC.
    static let august2027: Int64 = 1_817_121_600

    /// The harnesses' stores are first started (and seeded) on 15 January
    /// 2027, so the seeded programs' dates are the same in every run.
    static let firstStart: @Sendable () -> Date = { Date(timeIntervalSince1970: TimeInterval(TestClock.january2027)) }
}

/// The training migrations of a store first started at ``TestClock/firstStart``.
enum TestMigrations {
    static var sqlite: [SQLiteMigration] { TrainingMigrations.all(now: TestClock.firstStart) }
    static var postgres: [PostgresMigration] { TrainingPostgresMigrations.all(now: TestClock.firstStart) }
}

/// A service over a real store (SQLite or PostgreSQL), called through the
/// in-process transport. Each harness is one replica: its own provider and client.
struct TrainingHarness {
    let client: TrainingServiceClient
    let store: any TrainingStore

    init(store: any TrainingStore, clock: Int64 = TestClock.january2027) {
        let provider = TrainingServiceProvider(store: store, clock: { clock })
        self.store = store
        self.client = TrainingServiceClient(
            wrapping: RPCClient(transport: InProcessTransport(serving: [provider]), retryPolicy: .none))
    }

    init(database: SQLiteDatabase, clock: Int64 = TestClock.january2027) {
        self.init(store: SQLiteTrainingStore(database), clock: clock)
    }

    func createProgram(
        capacity: UInt32, title: String = "Test program", field: String = "rail logistics", country: String = "KZ",
        city: String = "Almaty", start: String = "2027-03-01", end: String = "2027-06-30"
    ) async throws -> TrainingProgram {
        let response = try await self.client.createProgram(
            CreateProgramRequest(
                program: TrainingProgram(
                    title: title, field: field, hostCentre: "Test centre", hostCity: city, country: country,
                    language: "ru", capacity: capacity, startDate: start, endDate: end, synthetic: true)))
        return try #require(response.program)
    }

    func registerTrainee(_ name: String, country: String = "UZ") async throws -> Trainee {
        let response = try await self.client.registerTrainee(
            RegisterTraineeRequest(trainee: Trainee(name: name, country: country, synthetic: true)))
        return try #require(response.trainee)
    }

    func enrol(_ trainee: Trainee, in program: TrainingProgram, key: String = "") async throws -> Enrolment {
        let response = try await self.client.enrol(
            EnrolRequest(traineeId: trainee.id, programId: program.id, idempotencyKey: key))
        return try #require(response.enrolment)
    }

    /// Every enrolment of a program, through the paged listing.
    func allEnrolments(_ programID: String, status: EnrolmentStatus = .unspecified, pageSize: UInt32 = 7) async throws
        -> [Enrolment]
    {
        var all: [Enrolment] = []
        var token = ""
        repeat {
            let page = try await self.client.listEnrolments(
                ListEnrolmentsRequest(programId: programID, status: status, pageSize: pageSize, pageToken: token))
            all += page.enrolments
            token = page.nextPageToken
        } while !token.isEmpty
        return all
    }
}

/// Runs `body` with a harness on `backend`: a temporary SQLite file, or a
/// fresh PostgreSQL database with the training migrations; either is
/// removed afterwards.
func withTrainingHarness<T: Sendable>(
    _ backend: StoreBackend,
    clock: Int64 = TestClock.january2027,
    _ body: (TrainingHarness) async throws -> T
) async throws -> T {
    switch backend {
    case .sqlite:
        return try await withTemporarySQLite(TestMigrations.sqlite) { database in
            try await body(TrainingHarness(database: database, clock: clock))
        }
    case .postgres:
        return try await TestPostgres.withMigratedDatabase(TestMigrations.postgres) {
            pool in
            try await body(TrainingHarness(store: PostgresTrainingStore(pool), clock: clock))
        }
    }
}
/// Runs `body` with a new database in a temporary file, closed and removed after.
func withTemporarySQLite<T: Sendable>(
    _ migrations: [SQLiteMigration], _ body: (SQLiteDatabase) async throws -> T
) async throws -> T {
    let database = try SQLiteDatabase.temporary(migrations: migrations)
    do {
        let result = try await body(database)
        await database.close()
        return result
    } catch {
        await database.close()
        throw error
    }
}
