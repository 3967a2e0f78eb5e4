import CaravanSQLite
import CaravanTestSupport
import CaravanTraining
import CaravanTrainingAPI
import Foundation
import Testing

@Suite("Seeded programs' dates follow the store's first start", .timeLimit(.minutes(1)))
struct SeedDatesTests {
    /// 2028-01-01 00:00 UTC: later than any date the seed could have fixed in advance.
    static let firstStart: Int64 = 1_830_297_600
    /// A restart 400 days on.
    static let restart: Int64 = firstStart + 400 * 86_400

    static func clock(_ seconds: Int64) -> @Sendable () -> Date {
        { Date(timeIntervalSince1970: TimeInterval(seconds)) }
    }

    /// The programs open for enrolment at the first start, as listed after
    /// the first start and again after a restart.
    static func listedOverTwoStarts(_ backend: StoreBackend) async throws -> [[TrainingProgram]] {
        func openPrograms(_ harness: TrainingHarness) async throws -> [TrainingProgram] {
            try await harness.client.listPrograms(ListProgramsRequest(openForEnrolment: true, pageSize: 500)).programs
        }
        switch backend {
        case .sqlite:
            return try await withTemporaryDirectory { directory in
                var listed: [[TrainingProgram]] = []
                for start in [Self.firstStart, Self.restart] {
                    let database = try SQLiteDatabase.open(
                        directory: directory, name: "training",
                        migrations: TrainingMigrations.all(now: Self.clock(start)))
                    let programs = try await openPrograms(TrainingHarness(database: database, clock: Self.firstStart))
                    await database.close()
                    listed.append(programs)
                }
                return listed
            }
        case .postgres:
            return try await TestPostgres.withFreshDatabase { settings in
                var listed: [[TrainingProgram]] = []
                for start in [Self.firstStart, Self.restart] {
                    listed.append(
                        try await TestPostgres.withDatabase(
                            settings, migrations: TrainingPostgresMigrations.all(now: Self.clock(start))
                        ) { pool in
                            try await openPrograms(
                                TrainingHarness(store: PostgresTrainingStore(pool), clock: Self.firstStart))
                        })
                }
                return listed
            }
        }
    }

    @Test(
        "placed after the first start, every one open for enrolment then, and stored: a restart keeps them",
        arguments: StoreBackend.available)
    func relativeAndStable(backend: StoreBackend) async throws {
        let listed = try await Self.listedOverTwoStarts(backend)
        let programs = listed[0]
        #expect(programs.count == TrainingSeed.plans.count, "every seeded program is open at the first start")
        let firstDay = CalendarDate.utc(secondsSince1970: Self.firstStart)
        #expect(programs.allSatisfy { $0.startDate > firstDay && $0.endDate > $0.startDate })
        #expect(
            programs.map(\.startDate).min() == CalendarDate.utc(secondsSince1970: Self.firstStart + 28 * 86_400),
            "the first opens four weeks after the first start")
        #expect(listed[1] == programs, "the dates stored at the first start, not placed again")
    }

    @Test("The plan places each program's dates from the first start given")
    func plan() {
        let programs = TrainingSeed.programs(firstStart: Self.firstStart)
        #expect(
            programs.map(\.startDate)
                == TrainingSeed.plans.map {
                    CalendarDate.utc(secondsSince1970: Self.firstStart + $0.startDay * 86_400)
                })
        #expect(
            programs.map(\.endDate)
                == TrainingSeed.plans.map {
                    CalendarDate.utc(secondsSince1970: Self.firstStart + ($0.startDay + $0.durationDays) * 86_400)
                })
        #expect(programs.allSatisfy { $0.synthetic && $0.title.hasSuffix("(synthetic capacity and dates)") })
    }
}
