import ArgumentParser
import CaravanServiceKit
import CaravanTraining
import Foundation
import GRDB

/// `caravan-training`: serves `caravan.training.v1.TrainingService`.
struct TrainingCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "caravan-training",
        abstract: "The training-program service: programs, trainees, enrolment with a wait-list, statistics."
    )

    @OptionGroup var options: ServiceOptions

    @Option(help: "Write this many synthetic trainees into the database (one transaction per 100,000) and exit.")
    var generateSyntheticTrainees: Int?

    func run() async throws { try await self.execute() }

    func execute() async throws {
        let settings = try self.options.resolve(service: "training", defaultPort: 7003)
        if let count = self.generateSyntheticTrainees {
            guard count > 0 else { throw ValidationError("--generate-synthetic-trainees must be positive.") }
            let database = try ServiceDatabase.open(
                directory: settings.dataDirectory, name: "training", durability: settings.durability,
                migrator: TrainingMigrations.migrator)
            let start = ContinuousClock.now
            try await SyntheticTrainees.generate(count: count, into: SQLiteTrainingStore(database))
            print("wrote \(count) synthetic trainees to \(database.path) in \(start.duration(to: .now))")
            return
        }
        try await ServiceMain.run(
            settings: settings, migrator: TrainingMigrations.migrator, postgresMigrations: [],
            copyPlan: SQLiteToPostgresCopy(tables: [])
        ) { storage, logger in
            let store: any TrainingStore
            switch storage {
            case .sqlite(let database): store = SQLiteTrainingStore(database)
            case .postgres: throw ValidationError("PostgreSQL storage is not built yet")
            }
            return [TrainingServiceProvider(store: store, logger: logger)]
        }
    }
}

// ParsableCommand.parseAndRun (CaravanServiceKit) explains why not main().
await TrainingCommand.parseAndRun { try await $0.execute() }
