import CaravanPostgres
import CaravanServiceKit
import GRDB
import Logging

extension SyntheticTrainees {
    /// Writes `count` synthetic trainees into the service's database — its
    /// SQLite file, or PostgreSQL with `--database` — migrating it first;
    /// answers where they went, for the command's report.
    public static func generate(
        count: Int, settings: ServiceSettings, logger: Logger = Logger(label: "caravan.training")
    ) async throws -> String {
        // A batch of 100,000 is one transaction, which takes longer than a
        // call may: the call timeout (also the server's statement and lock
        // timeouts) would end it half-way.
        try await ServiceMain.withStorage(
            settings: settings, migrator: TrainingMigrations.migrator,
            postgresMigrations: TrainingPostgresMigrations.all, callTimeout: .seconds(600), logger: logger
        ) { storage in
            switch storage {
            case .sqlite(let database):
                try await Self.generate(count: count, into: SQLiteTrainingStore(database))
                return database.path
            case .postgres(let pool):
                try await Self.generate(count: count, into: PostgresTrainingStore(pool))
                return pool.settings.redactedURL
            }
        }
    }
}
