import ArgumentParser
import CaravanPostgres
import CaravanSQLite
import CaravanServiceKit
import CaravanServiceMain
import CaravanTrade
import Foundation
import Logging

/// `caravan-trade`: serves `caravan.trade.v1.TradeService`.
struct TradeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "caravan-trade",
        abstract:
            "The trade service: China–Central Asia trade flows, summaries beside published figures, the Horgos hub."
    )

    @OptionGroup var options: ServiceOptions

    @Option(
        help:
            "Write this many synthetic flows (labelled synthetic, one transaction) into the database (SQLite, or PostgreSQL with --database) and exit."
    )
    var generateSyntheticFlows: Int?

    @Option(
        help:
            "Write this many synthetic live-streaming sessions at the Horgos hub (labelled synthetic, a transaction per 5,000) into the database and exit."
    )
    var generateSyntheticSessions: Int?

    @Option(help: "Seed of the synthetic flows or sessions (the same seed gives the same data).")
    var syntheticSeed: UInt64 = 42

    func run() async throws { try await self.start() }

    /// Serves, or generates synthetic flows and exits.
    func start() async throws {
        let settings = try self.options.resolve(service: "trade", defaultPort: 7001)
        if let count = self.generateSyntheticFlows {
            guard count > 0 else { throw ValidationError("--generate-synthetic-flows must be positive.") }
            let start = ContinuousClock.now
            let generator = SyntheticFlowGenerator(seed: self.syntheticSeed)
            let written = try await Self.withStore(settings) { store in
                try await generator.generate(count: count, into: store)
            }
            print("wrote \(count) synthetic flows to \(written) in \(start.duration(to: .now))")
            return
        }
        if let count = self.generateSyntheticSessions {
            guard count > 0 else { throw ValidationError("--generate-synthetic-sessions must be positive.") }
            let start = ContinuousClock.now
            let generator = SyntheticSessionGenerator(seed: self.syntheticSeed)
            let written = try await Self.withStore(settings) { store in
                try await generator.generate(count: count, into: store)
            }
            print("wrote \(count) synthetic sessions to \(written) in \(start.duration(to: .now))")
            return
        }
        try await ServiceMain.run(settings: settings, migrations: Self.migrations) { storage, logger in
            let store: any TradeStore
            switch storage {
            case .sqlite(let database): store = SQLiteTradeStore(database: database)
            case .postgres(let pool): store = PostgresTradeStore(pool)
            }
            return [TradeServiceProvider(store: store, logger: logger)]
        }
    }
}

extension TradeCommand {
    static let migrations = ServiceMigrations(
        sqlite: TradeMigrations.all, postgres: TradePostgresMigrations.all,
        copiedTables: TradePostgresMigrations.copiedTables)

    /// Runs `body` with the service's store — its SQLite file, or PostgreSQL
    /// with `--database` — migrated first; answers where the data went. A
    /// bulk load is one transaction, longer than a call may take: the call
    /// timeout (also the server's statement timeout) is raised for it.
    static func withStore(
        _ settings: ServiceSettings, _ body: (any TradeStore) async throws -> Void
    ) async throws -> String {
        try await ServiceMain.withStorage(
            settings: settings, migrations: Self.migrations, callTimeout: .seconds(3600),
            logger: Logger(label: "caravan.trade")
        ) { storage in
            switch storage {
            case .sqlite(let database):
                try await body(SQLiteTradeStore(database: database))
                return database.path
            case .postgres(let pool):
                try await body(PostgresTradeStore(pool))
                return pool.settings.redactedURL
            }
        }
    }
}

// ParsableCommand.parseAndRun (CaravanServiceKit) explains why not main().
await TradeCommand.parseAndRun { try await $0.start() }
