import CaravanCLI
import CaravanCore
import CaravanGatewayAPI
import CaravanHealthAPI
import CaravanServiceKit
import CaravanTCP
import CaravanTestSupport
import CaravanTradeAPI
import Foundation
import Testing

/// Starts `caravan-<service>` on `port` (0: a free one) with its own data directory.
func startService(_ service: String, directory: String, port: Int = 0) async throws -> ServerProcess {
    try await ServerProcess(
        "caravan-\(service)", ["--port", "\(port)", "--data-dir", directory, "--log-level", "warning"])
}

func startGateway(
    _ backends: [(String, [ServerProcess])], logLevel: String = "warning", extra: [String] = []
) async throws -> ServerProcess {
    var arguments = ["--port", "0", "--http-port", "0", "--log-level", logLevel] + extra
    for (flag, processes) in backends {
        arguments += ["--\(flag)", processes.map(\.address).joined(separator: ",")]
    }
    return try await ServerProcess("caravan-gateway", arguments)
}

/// Trade, logistics and training on fresh data directories, and a gateway in front of them.
struct WholeSystem {
    let directories: [TemporaryDirectory]
    let trade: ServerProcess
    let logistics: ServerProcess
    let training: ServerProcess
    let gateway: ServerProcess

    static func start() async throws -> WholeSystem {
        let directories = try ["trade", "logistics", "training"].map { try TemporaryDirectory("gateway-e2e-\($0)") }
        do {
            let trade = try await startService("trade", directory: directories[0].path)
            let logistics = try await startService("logistics", directory: directories[1].path)
            let training = try await startService("training", directory: directories[2].path)
            let gateway = try await startGateway([
                ("trade", [trade]), ("logistics", [logistics]), ("training", [training]),
            ])
            return WholeSystem(
                directories: directories, trade: trade, logistics: logistics, training: training, gateway: gateway)
        } catch {
            for directory in directories { directory.remove() }
            throw error
        }
    }

    func removeDirectories() {
        for directory in self.directories { directory.remove() }
    }
}

/// `http://HOST:PORT` of the gateway's HTTP door, once it announces it.
func httpBase(_ gateway: ServerProcess) async throws -> String {
    "http://" + (try await gateway.announced("caravan-gateway HTTP on "))
}

@Suite("caravan-gateway end to end", .serialized, .timeLimit(.minutes(5)))
struct GatewayEndToEndTests {
    @Test(
        "Complete answers; a SIGKILLed service fails its section within the deadline; recovery without a gateway restart"
    )
    func aggregatesSurviveAKilledService() async throws {
        let system = try await WholeSystem.start()
        defer { system.removeDirectories() }
        let (trade, logistics, training, gateway) = (system.trade, system.logistics, system.training, system.gateway)
        #expect(gateway.address.hasSuffix(":\(Endpoint(gateway.address)!.port)"))

        try await withClient(Endpoint(gateway.address)!, retryPolicy: .none) { rpc in
            let client = GatewayClient(wrapping: rpc)
            let overview = try await client.partnershipOverview(
                PartnershipOverviewRequest(year: 2024), options: CallOptions(timeout: .seconds(5)))
            #expect(!overview.partial)
            for outcome in [
                overview.trade?.outcome, overview.logistics?.outcome, overview.training?.outcome, overview.hub?.outcome,
            ] {
                #expect(outcome?.status == .ok, "\(String(describing: outcome))")
            }
            #expect(overview.trade?.publishedTotalUsd == 94.8e9)
            #expect(overview.trade?.milestone?.targetUsd == 100e9)
            #expect(overview.logistics?.published?.chineseCities == 128)
            #expect((overview.hub?.publishedFollowers ?? 0) >= 5_000_000)

            let profile = try await client.countryProfile(
                CountryProfileRequest(country: "KZ", year: 2024), options: CallOptions(timeout: .seconds(5)))
            #expect(profile.trade?.outcome?.status == .ok && profile.logistics?.outcome?.status == .ok)
            #expect(profile.training?.outcome?.status == .ok && !profile.partial)
            #expect((profile.logistics?.cities ?? 0) > 0)
            #expect((profile.logistics?.crossBorderLinks ?? 0) > 0)
            #expect((profile.logistics?.railLinks ?? 0) > (profile.logistics?.crossBorderLinks ?? 0))

            // A bad request is the caller's error, not a partial answer.
            await #expect(throws: RPCError.self) {
                try await client.countryProfile(CountryProfileRequest(country: "XX", year: 2024))
            }

            // Every service method is routed: the trade service answers through the gateway.
            let summary = try await TradeServiceClient(wrapping: rpc).getSummary(GetSummaryRequest(year: 2024))
            #expect(summary.published?.valueUsd == 94.8e9)
            // Server streaming too, message by message.
            let tradeClient = TradeServiceClient(wrapping: rpc)
            for index in 0..<3 {
                _ = try await tradeClient.recordFlow(
                    RecordFlowRequest(
                        flow: TradeFlow(
                            year: 2024, month: UInt32(index + 1), country: "KZ", direction: .directionExport,
                            category: "gateway stream test", valueUsd: 1_000, source: "gateway e2e (synthetic)",
                            synthetic: true),
                        idempotencyKey: "stream-\(index)"),
                    options: CallOptions(idempotencyKey: "stream-\(index)"))
            }
            let streamed = try await tradeClient.streamFlows(
                StreamFlowsRequest(filter: TradeFlowFilter(category: "gateway stream test"))
            ) { responses in
                var months: [UInt32] = []
                for try await response in responses { months.append(response.flow?.month ?? 0) }
                return months
            }
            #expect(streamed == [1, 2, 3])

            // A stalled service (SIGSTOP): its section times out, the answer still comes within the deadline.
            // An answer at all is the proof: the client fails a call whose deadline passes first with
            // DEADLINE_EXCEEDED (a stopwatch here would measure the machine's load, not the gateway).
            try await training.pause()
            let stalled = try await client.countryProfile(
                CountryProfileRequest(country: "UZ", year: 2024), options: CallOptions(timeout: .seconds(2)))
            training.resume()
            #expect(stalled.training?.outcome?.status == .timedOut, "\(String(describing: stalled.training?.outcome))")
            #expect(stalled.trade?.outcome?.status == .ok && stalled.partial)

            // SIGKILL logistics: the answer still comes, within the deadline, with that section failed.
            let logisticsPort = Endpoint(logistics.address)!.port
            _ = try await logistics.stop(signal: SIGKILL)
            let partial = try await client.partnershipOverview(
                PartnershipOverviewRequest(year: 2024), options: CallOptions(timeout: .seconds(2)))
            #expect(partial.partial)
            #expect([.failed, .timedOut].contains(partial.logistics?.outcome?.status))
            #expect(partial.trade?.outcome?.status == .ok && partial.training?.outcome?.status == .ok)
            #expect(partial.hub?.outcome?.status == .ok)
            #expect(partial.trade?.publishedTotalUsd == 94.8e9)

            // The gateway's own health service reports the backend down...
            let health = HealthClient(wrapping: rpc)
            let logisticsService = HealthCheckRequest(service: "caravan.logistics.v1.LogisticsService")
            #expect(try await eventually { try await health.check(logisticsService).status == .notServing })
            #expect(
                try await health.check(HealthCheckRequest(service: "caravan.trade.v1.TradeService")).status == .serving)

            // Restart it on the same port: the gateway recovers on its own.
            let restarted = try await startService(
                "logistics", directory: system.directories[1].path, port: logisticsPort)
            let recovered = try await eventually {
                let answer = try await client.partnershipOverview(
                    PartnershipOverviewRequest(year: 2024), options: CallOptions(timeout: .seconds(2)))
                return answer.logistics?.outcome?.status == .ok && !answer.partial
            }
            #expect(recovered, "the logistics section did not recover")
            #expect(try await eventually { try await health.check(logisticsService).status == .serving })
            _ = try await restarted.stop()
        }
        #expect(try await gateway.stop() == 0, "the gateway exits cleanly on SIGTERM")
        _ = try await trade.stop()
        _ = try await training.stop()
    }

    @Test(
        "HTTP/JSON with curl: aggregates, any routed method, grpc-gateway status mapping, health, readiness, dashboard")
    func http() async throws {
        let system = try await WholeSystem.start()
        defer { system.removeDirectories() }
        let (trade, logistics, training, gateway) = (system.trade, system.logistics, system.training, system.gateway)
        let base = try await httpBase(gateway)

        let overview = try await curl(["\(base)/v1/overview?year=2024"])
        #expect(overview.status == 200)
        let body = try jsonObject(overview.body)
        let tradeSection = try #require(body["trade"] as? [String: Any])
        #expect((tradeSection["outcome"] as? [String: Any])?["status"] as? String == "SECTION_STATUS_OK")
        #expect(tradeSection["publishedTotalUsd"] as? Double == 94.8e9)
        #expect(body["partial"] == nil, "partial is false, so omitted")

        let profile = try await curl(["\(base)/v1/countries/kz/profile?year=2024"])
        #expect(profile.status == 200 && profile.body.contains(#""country":"KZ""#))

        // grpc-gateway mapping: INVALID_ARGUMENT → 400, unknown method (UNIMPLEMENTED) → 501, as {code, message, details}.
        let bad = try await curl(["\(base)/v1/countries/FR/profile?year=2024"])
        #expect(bad.status == 400)
        #expect(try jsonObject(bad.body)["code"] as? Int == 3)
        #expect(
            try await curl(["-X", "POST", "-d", "{}", "\(base)/v1/caravan.trade.v1.TradeService/Nope"]).status == 501)
        #expect(
            try await curl(["-X", "POST", "-d", "not json", "\(base)/v1/caravan.trade.v1.TradeService/GetSummary"])
                .status == 400)

        // Any routed method: a write with an idempotency key, then a read.
        let flow =
            #"{"flow":{"year":2024,"month":5,"country":"UZ","direction":"DIRECTION_EXPORT","category":"http e2e","valueUsd":1234,"source":"gateway http e2e (synthetic)","synthetic":true},"idempotencyKey":"http-1"}"#
        for _ in 0..<2 {
            let recorded = try await curl([
                "-X", "POST", "-H", "Idempotency-Key: http-1", "-d", flow,
                "\(base)/v1/caravan.trade.v1.TradeService/RecordFlow",
            ])
            #expect(recorded.status == 200, "\(recorded.body)")
        }
        let listed = try await curl([
            "-X", "POST", "-d", #"{"filter":{"category":"http e2e"}}"#,
            "\(base)/v1/caravan.trade.v1.TradeService/ListFlows",
        ])
        #expect(listed.status == 200)
        #expect((try jsonObject(listed.body)["flows"] as? [Any])?.count == 1, "the repeated key recorded once")

        #expect(try await curl(["\(base)/healthz"]).status == 200)
        #expect(try await curl(["\(base)/readyz"]).status == 200)
        let page = try await curl(["\(base)/"])
        #expect(page.status == 200 && page.body.contains("USD 100 billion milestone"))

        // The dashboard in a real browser: DashboardEndToEndTests.

        // With logistics gone the gateway is alive but not ready.
        _ = try await logistics.stop(signal: SIGKILL)
        #expect(try await eventually { try await curl(["\(base)/readyz"]).status == 503 })
        #expect(try await curl(["\(base)/healthz"]).status == 200)
        let partial = try await curl(["-H", "X-Caravan-Timeout: 2s", "\(base)/v1/overview?year=2024"])
        #expect(partial.status == 200 && partial.body.contains(#""partial":true"#))

        #expect(try await gateway.stop() == 0)
        _ = try await trade.stop()
        _ = try await training.stop()
    }

    @Test("Two trade replicas: calls spread over both; killing one loses no call that carried an idempotency key")
    func replicas() async throws {
        let directories = try ["trade-a", "trade-b"].map { try TemporaryDirectory("gateway-e2e-\($0)") }
        defer { for directory in directories { directory.remove() } }
        let first = try await startService("trade", directory: directories[0].path)
        let second = try await startService("trade", directory: directories[1].path)
        let gateway = try await startGateway([("trade", [first, second])], logLevel: "debug")
        let tag = "gateway e2e \(UUID().uuidString.prefix(8))"

        @Sendable func record(_ client: TradeServiceClient, _ index: Int) async throws {
            let key = "\(tag)-\(index)"
            let flow = TradeFlow(
                year: 2024, month: UInt32(index % 12 + 1), country: ["KZ", "UZ", "KG", "TJ", "TM"][index % 5],
                direction: .directionExport, category: tag, valueUsd: Double(1_000 + index),
                source: "gateway e2e (synthetic)",
                synthetic: true)
            _ = try await client.recordFlow(
                RecordFlowRequest(flow: flow, idempotencyKey: key),
                options: CallOptions(timeout: .seconds(10), idempotencyKey: key))
        }

        do {
            try await withClient(Endpoint(gateway.address)!, retryPolicy: .none) { rpc in
                let client = TradeServiceClient(wrapping: rpc)
                for index in 0..<40 { try await record(client, index) }
            }
        } catch {
            Issue.record("\(error)\nGateway log:\n\(gateway.log)")
            throw error
        }
        // Each replica has its own database: what each holds shows where the calls went.
        var held: [Int] = []
        for replica in [first, second] {
            let count = try await withClient(Endpoint(replica.address)!) { rpc in
                try await TradeServiceClient(wrapping: rpc).listFlows(
                    ListFlowsRequest(filter: TradeFlowFilter(category: tag), pageSize: 500)
                ).flows.count
            }
            held.append(count)
        }
        #expect(held.reduce(0, +) == 40)
        #expect(held.allSatisfy { $0 >= 10 }, "calls did not spread: \(held)")

        // 200 keyed writes from 4 callers; the second replica is SIGKILLed after 30.
        let progress = WriteProgress()
        try await withClient(Endpoint(gateway.address)!, retryPolicy: .none) { rpc in
            let client = TradeServiceClient(wrapping: rpc)
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    do {
                        try await progress.waitUntilDone(30)
                    } catch {
                        Issue.record("\(error)")
                    }
                    kill(second.process.processIdentifier, SIGKILL)
                }
                for worker in 0..<4 {
                    group.addTask {
                        for index in stride(from: 100 + worker, to: 300, by: 4) {
                            do {
                                try await record(client, index)
                                progress.finish(failure: nil)
                            } catch {
                                progress.finish(failure: "\(index): \(error)")
                            }
                        }
                    }
                }
            }
        }
        // Calls in flight on the killed replica were tried again (their key makes that safe);
        // later ones went to the live replica, since the dead one's connection was gone.
        #expect(progress.failures.isEmpty, "lost calls: \(progress.failures)")
        #expect(progress.done == 200)
        #expect(try await gateway.stop() == 0)
        _ = try await first.stop()
    }
}

/// Writes finished so far, and the failures among them, across callers.
private final class WriteProgress: Sendable {
    private struct State: Sendable {
        var done = 0
        var failures: [String] = []
    }

    private let state = Watched(State())

    func finish(failure: String?) {
        self.state.update { state in
            state.done += 1
            if let failure { state.failures.append(failure) }
        }
    }

    /// Returns once `count` writes have finished.
    func waitUntilDone(_ count: Int) async throws {
        try await self.state.wait(for: "\(count) writes", until: { $0.done >= count })
    }

    var done: Int { self.state.value.done }
    var failures: [String] { self.state.value.failures }
}
