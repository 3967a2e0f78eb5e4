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
        guard var postgres = settings.postgres else {
            let database = try ServiceDatabase.open(
                directory: settings.dataDirectory, name: settings.service, durability: settings.durability,
                migrator: TrainingMigrations.migrator)
            try await Self.generate(count: count, into: SQLiteTrainingStore(database))
            return database.path
        }
        // A batch of 100,000 is one transaction, which takes longer than a
        // call may: the call timeout (also the server's statement and lock
        // timeouts) would end it half-way.
        postgres.callTimeout = max(postgres.callTimeout, .seconds(600))
        let pool = try PostgresPool(settings: postgres, logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await pool.run() }
            defer { group.cancelAll() }
            try await pool.migrate(TrainingPostgresMigrations.all)
            try await Self.generate(count: count, into: PostgresTrainingStore(pool))
        }
        return postgres.redactedURL
    }
}
