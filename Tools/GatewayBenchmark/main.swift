import ArgumentParser
import CaravanCore
import CaravanDomain
import CaravanEchoAPI
import CaravanGateway
import CaravanGatewayAPI
import CaravanLogisticsAPI
import CaravanServiceKit
import CaravanTCP
import CaravanTradeAPI
import CaravanTrainingAPI
import Foundation
import Histogram

/// `caravan-gateway-bench`: the partnership overview through the gateway
/// against the same backend calls made directly by the client, one after
/// another and concurrently (the gateway's own fan-out code, run in the
/// client), and against each backend section and single call alone; a
/// read routed through the gateway against the same read made directly;
/// and an echo, the cost of one hop. All modes run interleaved, round by
/// round, so noise on a shared machine falls on each alike; compare them
/// as ratios within one run.
struct GatewayBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "caravan-gateway-bench",
        abstract: "Latency and throughput of the partnership overview: through the gateway and direct."
    )

    @Option(help: "The gateway, host:port.") var gateway = "127.0.0.1:7000"
    @Option(help: "The trade service, host:port.") var trade = "127.0.0.1:7001"
    @Option(help: "The logistics service, host:port.") var logistics = "127.0.0.1:7002"
    @Option(help: "The training service, host:port.") var training = "127.0.0.1:7003"
    @Option(help: "An echo server (`caravan echo-server`), host:port: the cost of one hop.") var echo = "127.0.0.1:7100"
    @Option(help: "The overview's year.") var year: UInt32 = 2024
    @Option(help: "Sequential calls per mode per round.") var calls = 500
    @Option(help: "Rounds; modes take turns within each.") var rounds = 3
    @Option(help: "Workers for the throughput runs.") var concurrency = 64
    @Option(help: "Length of each throughput run, e.g. 5s.") var throughputDuration = "5s"

    func start() async throws {
        guard let gatewayEndpoint = Endpoint(self.gateway), let tradeEndpoint = Endpoint(self.trade),
            let logisticsEndpoint = Endpoint(self.logistics), let trainingEndpoint = Endpoint(self.training),
            let echoEndpoint = Endpoint(self.echo)
        else { throw ValidationError("Addresses are host:port.") }
        guard let throughputDuration = parseDuration(self.throughputDuration) else {
            throw ValidationError("Bad --throughput-duration '\(self.throughputDuration)'.")
        }
        let client = ClientConfiguration(connectionsPerEndpoint: 2)
        let transports = [gatewayEndpoint, tradeEndpoint, logisticsEndpoint, trainingEndpoint, echoEndpoint].map {
            TCPClientTransport(host: $0.host, port: $0.port, configuration: client)
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for transport in transports { group.addTask { await transport.run() } }
            defer { for transport in transports { transport.close() } }
            let modes = Modes(
                gateway: GatewayClient(wrapping: RPCClient(transport: transports[0])),
                backends: ClientBackends(
                    trade: RPCClient(transport: transports[1]), logistics: RPCClient(transport: transports[2]),
                    training: RPCClient(transport: transports[3]),
                    configured: Set(Backend.allCases)),
                routedTraining: TrainingServiceClient(wrapping: RPCClient(transport: transports[0])),
                directTraining: TrainingServiceClient(wrapping: RPCClient(transport: transports[3])),
                echo: EchoClient(wrapping: RPCClient(transport: transports[4])),
                year: self.year)
            try await self.measure(modes, throughputDuration: throughputDuration)
        }
    }

    private func measure(_ modes: Modes, throughputDuration: Duration) async throws {
        let all = modes.all
        for (_, call) in all {  // warm-up: connections, caches, the services' first queries
            for _ in 0..<50 { try await call() }
        }
        var histograms = Array(repeating: Self.histogram(), count: all.count)
        for _ in 0..<self.rounds {
            for (index, (_, call)) in all.enumerated() {
                for _ in 0..<self.calls {
                    let start = ContinuousClock.now
                    try await call()
                    _ = histograms[index].record(UInt64(max(1, start.duration(to: .now).totalNanoseconds)))
                }
            }
        }
        print(
            "Latency, one call at a time (\(self.rounds) rounds × \(self.calls) calls per mode, modes interleaved):\n")
        print("| mode | p50 µs | p90 µs | p99 µs | max µs |")
        print("|---|---|---|---|---|")
        for (index, (name, _)) in all.enumerated() {
            let histogram = histograms[index]
            func micros(_ percentile: Double) -> String {
                String(format: "%.0f", Double(histogram.valueAtPercentile(percentile)) / 1000)
            }
            print("| \(name) | \(micros(50)) | \(micros(90)) | \(micros(99)) | \(micros(100)) |")
        }
        let p50 = { (name: String) -> Double in
            Double(histograms[all.firstIndex { $0.0 == name }!].valueAtPercentile(50))
        }
        let slowestSection = Modes.sectionNames.max { p50($0) < p50($1) }!
        let slowestCall = Modes.callNames.max { p50($0) < p50($1) }!
        print("")
        print(
            String(
                format: "Gateway added latency at p50: %.0f µs over direct concurrent calls",
                (p50(Modes.throughGateway) - p50(Modes.directConcurrent)) / 1000))
        print(
            String(
                format: "Overview via gateway p50 / slowest section p50 (%@): %.2f×", slowestSection,
                p50(Modes.throughGateway) / p50(slowestSection)))
        print(
            String(
                format: "Overview via gateway p50 / slowest single call p50 (%@): %.2f×", slowestCall,
                p50(Modes.throughGateway) / p50(slowestCall)))
        let echo = p50(Modes.echo)
        print(
            String(
                format: "Overview p50 − slowest single call p50: %.0f µs = %.2f echoes (target ≤ 2)",
                (p50(Modes.throughGateway) - p50(slowestCall)) / 1000,
                (p50(Modes.throughGateway) - p50(slowestCall)) / echo))
        print(
            String(
                format: "Routed read p50 − direct p50: %.0f µs = %.2f echoes (target ≤ 1.5)",
                (p50(Modes.routedRead) - p50(Modes.directRead)) / 1000,
                (p50(Modes.routedRead) - p50(Modes.directRead)) / echo))

        print("\nThroughput, \(self.concurrency) workers, \(throughputDuration) each:\n")
        print("| mode | overviews/s | errors |")
        print("|---|---|---|")
        for (name, call) in all where name == Modes.throughGateway || name == Modes.directConcurrent {
            let (count, errors) = await Self.throughput(call, workers: self.concurrency, for: throughputDuration)
            let seconds = throughputDuration.totalSeconds
            print("| \(name) | \(String(format: "%.0f", Double(count) / seconds)) | \(errors) |")
        }
    }

    private static func throughput(
        _ call: @escaping @Sendable () async throws -> Void, workers: Int, for duration: Duration
    ) async -> (calls: Int, errors: Int) {
        let end = ContinuousClock.now.advanced(by: duration)
        return await withTaskGroup(of: (Int, Int).self) { group in
            for _ in 0..<workers {
                group.addTask {
                    var calls = 0
                    var errors = 0
                    while ContinuousClock.now < end {
                        do { try await call() } catch { errors += 1 }
                        calls += 1
                    }
                    return (calls, errors)
                }
            }
            return await group.reduce(into: (0, 0)) {
                $0.0 += $1.0; $0.1 += $1.1
            }
        }
    }

    private static func histogram() -> Histogram<UInt64> {
        Histogram(
            lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
    }
}

/// The ways of getting the overview's data, and its parts alone.
struct Modes: Sendable {
    static let throughGateway = "overview through the gateway"
    static let directConcurrent = "direct: the sections concurrently"
    static let directSequential = "direct: the sections one after another"
    static let sectionNames = SectionName.allCases.map { "section alone: \($0.rawValue)" }
    static let callNames = ["GetSummary", "HubStats", "NetworkStats", "CountShipments", "Statistics"]
        .map { "single call: \($0)" }
    static let routedRead = "GetProgram routed through the gateway"
    static let directRead = "GetProgram direct"
    static let echo = "echo (one hop)"

    let gateway: GatewayClient
    let backends: ClientBackends
    let routedTraining: TrainingServiceClient
    let directTraining: TrainingServiceClient
    let echo: EchoClient
    let year: UInt32

    private var options: CallOptions { CallOptions(timeout: .seconds(10)) }

    var all: [(String, @Sendable () async throws -> Void)] {
        let (gateway, year, options) = (self.gateway, self.year, self.options)
        let fetchers = SectionFetchers(backends: self.backends)
        let plan = AggregatePlan.partnershipOverview
        var modes: [(String, @Sendable () async throws -> Void)] = [
            (
                Self.throughGateway,
                {
                    let response = try await gateway.partnershipOverview(
                        PartnershipOverviewRequest(year: year), options: options)
                    guard !response.partial else {
                        let outcomes = [
                            response.trade?.outcome, response.logistics?.outcome, response.training?.outcome,
                            response.hub?.outcome,
                        ]
                        throw RPCError(
                            code: .unavailable,
                            message: "partial overview: \(outcomes.compactMap { $0 }.filter { $0.status != .ok })")
                    }
                }
            ),
            (
                Self.directConcurrent,
                {
                    let result = await FanOut().run(
                        plan, callerDeadline: .now.advanced(by: .seconds(10)), isConfigured: { _ in true }
                    ) {
                        section, options in
                        try await fetchers.fetch(section, country: nil, year: year, options: options)
                    }
                    guard result.outcomes.values.allSatisfy({ $0.status == .ok }) else {
                        throw RPCError(code: .unavailable, message: "a section failed")
                    }
                }
            ),
            (
                Self.directSequential,
                {
                    for section in plan.sections {
                        _ = try await fetchers.fetch(section.name, country: nil, year: year, options: options)
                    }
                }
            ),
        ]
        for (name, section) in zip(Self.sectionNames, SectionName.allCases) {
            modes.append((name, { _ = try await fetchers.fetch(section, country: nil, year: year, options: options) }))
        }
        let backends = self.backends
        let start = UTCCalendar.startOfYear(Int64(year))
        // The calls the overview makes, as it makes them.
        let singles: [@Sendable () async throws -> Void] = [
            { _ = try await backends.tradeSummary(GetSummaryRequest(year: year), options: options) },
            {
                _ = try await backends.hubStats(
                    HubStatsRequest(
                        hub: "horgos", fromUnixSeconds: start, toUnixSeconds: UTCCalendar.startOfYear(Int64(year) + 1),
                        omitTopCreators: true), options: options)
            },
            { _ = try await backends.networkStats(NetworkStatsRequest(), options: options) },
            { _ = try await backends.countShipments(CountShipmentsRequest(), options: options) },
            { _ = try await backends.trainingStatistics(StatisticsRequest(groupBy: .country), options: options) },
        ]
        modes += zip(Self.callNames, singles).map { ($0, $1) }
        let (routed, direct, echo) = (self.routedTraining, self.directTraining, self.echo)
        let routedRead: @Sendable () async throws -> Void = {
            _ = try await routed.getProgram(GetProgramRequest(id: "prog-1"), options: options)
        }
        let directRead: @Sendable () async throws -> Void = {
            _ = try await direct.getProgram(GetProgramRequest(id: "prog-1"), options: options)
        }
        let hop: @Sendable () async throws -> Void = {
            _ = try await echo.unary(EchoRequest(payload: Array(repeating: 7, count: 64)), options: options)
        }
        modes += [(Self.routedRead, routedRead), (Self.directRead, directRead), (Self.echo, hop)]
        return modes
    }
}

await GatewayBenchmark.parseAndRun { try await $0.start() }
