import ArgumentParser
import CaravanCore
import CaravanServiceKit
import CaravanTCP
import CaravanTraining
import CaravanTrainingAPI
import Foundation
import GRDB

/// `caravan-training`: serves `caravan.training.v1.TrainingService`.
struct TrainingCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "caravan-training",
        abstract: "The training-program service: programs, trainees, enrolment with a wait-list, statistics."
    )

    @OptionGroup var options: ServiceOptions

    @Option(help: "Write this many synthetic trainees (one transaction) into the database and exit.")
    var generateSyntheticTrainees: Int?

    @Option(help: ArgumentHelp("Benchmark client: enrol trainees trn-1… against the server at HOST:PORT, then exit.", visibility: .hidden))
    var benchmarkEnrolments: String?

    @Option(help: ArgumentHelp("Benchmark: enrolment calls.", visibility: .hidden))
    var benchmarkCalls: Int = 10_000

    @Option(help: ArgumentHelp("Benchmark: calls in flight.", visibility: .hidden))
    var benchmarkConcurrency: Int = 64

    @Option(help: ArgumentHelp("Benchmark: connections.", visibility: .hidden))
    var benchmarkConnections: Int = 4

    func run() async throws { try await self.execute() }

    func execute() async throws {
        if let address = self.benchmarkEnrolments {
            try await self.benchmark(address)
            return
        }
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
        try await ServiceMain.run(settings: settings, migrator: TrainingMigrations.migrator) { database, logger in
            [TrainingServiceProvider(store: SQLiteTrainingStore(database), logger: logger)]
        }
    }

    private func benchmark(_ address: String) async throws {
        guard let endpoint = Endpoint(address) else { throw ValidationError("Bad address '\(address)'.") }
        let transport = TCPClientTransport(
            host: endpoint.host, port: endpoint.port,
            configuration: ClientConfiguration(connectionsPerEndpoint: self.benchmarkConnections))
        let calls = self.benchmarkCalls
        let concurrency = self.benchmarkConcurrency
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await transport.run() }
            defer { transport.close() }
            let client = TrainingServiceClient(wrapping: RPCClient(transport: transport))
            let report = try await EnrolmentBenchmark.run(
                client: client, calls: calls, concurrency: concurrency, capacity: UInt32(max(1, calls / 2)))
            print(report)
        }
    }
}

// ArgumentParser's `main()` picks its synchronous overload (which prints
// the help) from top-level code, so parse and run by hand, calling a method
// whose name leaves no overload to pick.
do {
    let command = try TrainingCommand.parse()
    try await command.execute()
} catch {
    TrainingCommand.exit(withError: error)
}
