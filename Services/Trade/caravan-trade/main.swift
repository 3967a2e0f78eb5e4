import ArgumentParser
import CaravanServiceKit
import CaravanTrade
import Foundation

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

    @Option(help: "Seed of the synthetic flows (the same seed gives the same flows).")
    var syntheticSeed: UInt64 = 42

    func run() async throws { try await self.start() }

    /// Serves, or generates synthetic flows and exits.
    func start() async throws {
        let settings = try self.options.resolve(service: "trade", defaultPort: 7001)
        if let count = self.generateSyntheticFlows {
            guard count > 0 else { throw ValidationError("--generate-synthetic-flows must be positive.") }
            let start = ContinuousClock.now
            let written = try await SyntheticFlowGenerator(seed: self.syntheticSeed).generate(
                count: count, settings: settings)
            print("wrote \(count) synthetic flows to \(written) in \(start.duration(to: .now))")
            return
        }
        try await ServiceMain.run(
            settings: settings, migrator: TradeMigrations.migrator, postgresMigrations: TradePostgresMigrations.all,
            copyPlan: TradePostgresMigrations.copyPlan
        ) { storage, logger in
            let store: any TradeStore
            switch storage {
            case .sqlite(let database): store = SQLiteTradeStore(database: database)
            case .postgres(let pool): store = PostgresTradeStore(pool)
            }
            return [TradeServiceProvider(store: store, logger: logger)]
        }
    }
}

// ParsableCommand.parseAndRun (CaravanServiceKit) explains why not main().
await TradeCommand.parseAndRun { try await $0.start() }
