import ArgumentParser
import CaravanLogistics
import CaravanServiceKit
import Foundation

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

    /// The command's body (async; called from the top-level code below).
    func serve() async throws {
        if self.benchmarkRoutes {
            print(try await RouteBenchmark.run())
            return
        }
        let settings = try self.options.resolve(service: "logistics", defaultPort: 7002)
        try await ServiceMain.run(
            settings: settings, migrator: LogisticsMigrations.migrator(),
            postgresMigrations: LogisticsPostgresMigrations.all,
            copyPlan: LogisticsPostgresMigrations.copyPlan
        ) { storage, logger in
            let store: any LogisticsStore
            switch storage {
            case .sqlite(let database): store = GRDBLogisticsStore(database)
            case .postgres(let pool): store = PostgresLogisticsStore(pool)
            }
            return [LogisticsServiceProvider(store: store, logger: logger)]
        }
    }
}

// ParsableCommand.parseAndRun (CaravanServiceKit) explains why not main().
await LogisticsCommand.parseAndRun { try await $0.serve() }
