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
        let logger = Logger(label: "caravan.trade")
        return try await ServiceMain.withStorage(
            settings: settings, migrator: TradeMigrations.migrator, postgresMigrations: TradePostgresMigrations.all,
            logger: logger
        ) { storage in
            switch storage {
            case .sqlite(let database):
                try await self.generate(count: count, into: database)
                return database.path
            case .postgres(let pool):
                try await self.generate(count: count, into: pool, logger: logger)
                return pool.settings.redactedURL
            }
        }
    }
}
