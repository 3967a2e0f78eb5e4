import ArgumentParser
import CaravanServiceKit
import CaravanTraining
import Foundation

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
            let start = ContinuousClock.now
            let target = try await SyntheticTrainees.generate(count: count, settings: settings)
            print("wrote \(count) synthetic trainees to \(target) in \(start.duration(to: .now))")
            return
        }
        try await ServiceMain.run(
            settings: settings, migrator: TrainingMigrations.migrator,
            postgresMigrations: TrainingPostgresMigrations.all,
            copyPlan: TrainingPostgresMigrations.copyPlan
        ) { storage, logger in
            let store: any TrainingStore
            switch storage {
            case .sqlite(let database): store = SQLiteTrainingStore(database)
            case .postgres(let pool): store = PostgresTrainingStore(pool)
            }
            return [TrainingServiceProvider(store: store, logger: logger)]
        }
    }
}

// ParsableCommand.parseAndRun (CaravanServiceKit) explains why not main().
await TrainingCommand.parseAndRun { try await $0.execute() }
