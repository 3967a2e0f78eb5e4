import CaravanPostgres
import CaravanServiceKit
import GRDB
import Logging

extension SyntheticFlowGenerator {
    /// Opens the trade database `settings` name — `<data-dir>/trade.sqlite`,
    /// or PostgreSQL with `--database` — brings it up to the migrations and
    /// writes `count` synthetic flows (`--generate-synthetic-flows`).
    /// Answers where they went, for the command to say.
    public func generate(count: Int, settings: ServiceSettings) async throws -> String {
        guard let postgres = settings.postgres else {
            let database = try ServiceDatabase.open(
                directory: settings.dataDirectory, name: "trade", durability: settings.durability,
                migrator: TradeMigrations.migrator)
            try await self.generate(count: count, into: database)
            return database.path
        }
        let logger = Logger(label: "caravan.trade")
        let pool = try PostgresPool(settings: postgres, logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { await pool.run() }
            defer { tasks.cancelAll() }
            try await pool.migrate(TradePostgresMigrations.all)
            try await self.generate(count: count, into: pool, logger: logger)
        }
        return postgres.redactedURL
    }
}
