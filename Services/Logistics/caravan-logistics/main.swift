import ArgumentParser
import CaravanLogistics
import CaravanPostgres
import CaravanSQLite
import CaravanServiceKit
import CaravanServiceMain
import Foundation
import Logging

/// `caravan-logistics`: the freight network, routes and shipments service.
struct LogisticsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "caravan-logistics",
        abstract: "Serve caravan.logistics.v1.LogisticsService (default port 7002).",
        discussion:
            "Seeds its SQLite database on first start. Environment: CARAVAN_LOGISTICS_HOST, _PORT, _DATA_DIR, _LOG_LEVEL, _SYNC."
    )

    @OptionGroup var options: ServiceOptions

    @Flag(name: .long, help: "Run the in-process route-finding benchmark, print a Markdown table and exit.")
    var benchmarkRoutes = false

    @Option(
        help:
            "Write this many synthetic shipments with their histories (labelled synthetic, a transaction per 5,000) into the database and exit."
    )
    var generateSyntheticShipments: Int?

    @Option(help: "Seed of the synthetic shipments (the same seed gives the same shipments).")
    var syntheticSeed: UInt64 = 42

    static let migrations = ServiceMigrations(
        sqlite: LogisticsMigrations.all, postgres: LogisticsPostgresMigrations.all,
        copiedTables: LogisticsPostgresMigrations.copiedTables)

    /// The command's body (async; called from the top-level code below).
    func serve() async throws {
        if self.benchmarkRoutes {
            print(try await RouteBenchmark.run())
            return
        }
        let settings = try self.options.resolve(service: "logistics", defaultPort: 7002)
        if let count = self.generateSyntheticShipments {
            guard count > 0 else { throw ValidationError("--generate-synthetic-shipments must be positive.") }
            let start = ContinuousClock.now
            let generator = SyntheticShipmentGenerator(seed: self.syntheticSeed)
            // A batch is one transaction, longer than a call may take: the
            // call timeout (also the server's statement timeout) is raised.
            let target = try await ServiceMain.withStorage(
                settings: settings, migrations: Self.migrations, callTimeout: .seconds(600),
                logger: Logger(label: "caravan.logistics")
            ) { storage in
                switch storage {
                case .sqlite(let database):
                    try await generator.generate(count: count, into: SQLiteLogisticsStore(database))
                    return database.path
                case .postgres(let pool):
                    try await generator.generate(count: count, into: PostgresLogisticsStore(pool))
                    return pool.settings.redactedURL
                }
            }
            print("wrote \(count) synthetic shipments to \(target) in \(start.duration(to: .now))")
            return
        }
        try await ServiceMain.run(settings: settings, migrations: Self.migrations) { storage, logger in
            let store: any LogisticsStore
            switch storage {
            case .sqlite(let database): store = SQLiteLogisticsStore(database)
            case .postgres(let pool): store = PostgresLogisticsStore(pool)
            }
            return [LogisticsServiceProvider(store: store, logger: logger)]
        }
    }
}

// ParsableCommand.parseAndRun (CaravanServiceKit) explains why not main().
await LogisticsCommand.parseAndRun { try await $0.serve() }
