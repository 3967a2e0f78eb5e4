import ArgumentParser
import CaravanPostgres
import CaravanSQLite
import CaravanServiceKit
import CaravanServiceMain
import CaravanTraining
import Foundation
import Logging

/// `caravan-training`: serves `caravan.training.v1.TrainingService`.
struct TrainingCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "caravan-training",
        abstract: "The training-program service: programs, trainees, enrolment with a wait-list, statistics."
    )

    @OptionGroup var options: ServiceOptions

    @Option(help: "Write this many synthetic trainees into the database (one transaction per 100,000) and exit.")
    var generateSyntheticTrainees: Int?

    @Option(
        help:
            "Write this many synthetic trainees, each enrolled in an open program by the enrolment rules (a transaction per 1,000), and exit."
    )
    var generateSyntheticEnrolments: Int?

    func run() async throws { try await self.execute() }

    func execute() async throws {
        let settings = try self.options.resolve(service: "training", defaultPort: 7003)
        if let count = self.generateSyntheticTrainees {
            guard count > 0 else { throw ValidationError("--generate-synthetic-trainees must be positive.") }
            let start = ContinuousClock.now
            let target = try await Self.withStore(settings) { store in
                try await SyntheticTrainees.generate(count: count, into: store)
            }
            print("wrote \(count) synthetic trainees to \(target) in \(start.duration(to: .now))")
            return
        }
        if let count = self.generateSyntheticEnrolments {
            guard count > 0 else { throw ValidationError("--generate-synthetic-enrolments must be positive.") }
            let start = ContinuousClock.now
            let target = try await Self.withStore(settings) { store in
                try await SyntheticEnrolments.generate(
                    count: count, into: store, now: Int64(Date().timeIntervalSince1970))
            }
            print("wrote \(count) synthetic trainees and enrolments to \(target) in \(start.duration(to: .now))")
            return
        }
        try await ServiceMain.run(settings: settings, migrations: Self.migrations) { storage, logger in
            let store: any TrainingStore
            switch storage {
            case .sqlite(let database): store = SQLiteTrainingStore(database)
            case .postgres(let pool): store = PostgresTrainingStore(pool)
            }
            return [TrainingServiceProvider(store: store, logger: logger)]
        }
    }
}

extension TrainingCommand {
    static let migrations = ServiceMigrations(
        sqlite: TrainingMigrations.all, postgres: TrainingPostgresMigrations.all,
        copiedTables: TrainingPostgresMigrations.copiedTables)

    /// Runs `body` with the service's store — its SQLite file, or PostgreSQL
    /// with `--database` — migrated first; answers where the data went.
    /// A batch of generated rows is one transaction, which takes longer
    /// than a call may: the call timeout (also the server's statement and
    /// lock timeouts) is raised so it does not end it half-way.
    static func withStore(
        _ settings: ServiceSettings, _ body: (any TrainingStore) async throws -> Void
    ) async throws -> String {
        try await ServiceMain.withStorage(
            settings: settings, migrations: Self.migrations, callTimeout: .seconds(600),
            logger: Logger(label: "caravan.training")
        ) { storage in
            switch storage {
            case .sqlite(let database):
                try await body(SQLiteTrainingStore(database))
                return database.path
            case .postgres(let pool):
                try await body(PostgresTrainingStore(pool))
                return pool.settings.redactedURL
            }
        }
    }
}

// ParsableCommand.parseAndRun (CaravanServiceKit) explains why not main().
await TrainingCommand.parseAndRun { try await $0.execute() }
