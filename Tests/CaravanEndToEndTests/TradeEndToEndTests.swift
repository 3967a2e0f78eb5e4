import CaravanCLI
import CaravanCore
import CaravanServiceKit
import CaravanTestSupport
import CaravanTradeAPI
import Foundation
import Testing

@Suite("caravan-trade as a process", .serialized, .timeLimit(.minutes(4)))
struct TradeEndToEndTests {
    func startTrade(_ dataDirectory: String) async throws -> ServerProcess {
        try await ServerProcess(
            "caravan-trade", ["--port", "0", "--data-dir", dataDirectory, "--log-level", "warning"])
    }

    @Test("Record, repeat, summarise, list, stream and the hub through `caravan call`; restart keeps data, seeds once")
    func callThroughCLI() async throws {
        try await withTemporaryDirectory("trade-e2e") { directory in
            let server = try await self.startTrade(directory)
            let address = server.address
            let flow = """
                {"flow":{"year":2024,"month":6,"country":"kz","direction":"DIRECTION_EXPORT",\
                "category":"wind turbine generators","valueUsd":2500000,"source":"e2e test"},"idempotencyKey":"e2e-1"}
                """
            let recorded = try await runCommand(
                "caravan", ["call", address, "caravan.trade.v1.TradeService/RecordFlow", flow])
            #expect(recorded.status == 0, "\(recorded.stderr)")
            let stored = try #require(try jsonObject(recorded.stdout)["flow"] as? [String: Any])
            let id = try #require(stored["id"] as? String)
            #expect(stored["country"] as? String == "KZ")

            // The same key again: the same answer, nothing new stored.
            let repeated = try await runCommand(
                "caravan", ["call", address, "caravan.trade.v1.TradeService/RecordFlow", flow])
            #expect(repeated.stdout == recorded.stdout)

            // The key as metadata works the same way.
            let viaHeader = try await runCommand(
                "caravan",
                [
                    "call", "--idempotency-key", "e2e-2", address, "caravan.trade.v1.TradeService/RecordFlow",
                    #"{"flow":{"year":2023,"country":"UZ","direction":"DIRECTION_IMPORT","category":"cotton","valueUsd":1000000,"source":"e2e test"}}"#,
                ])
            #expect(viaHeader.status == 0, "\(viaHeader.stderr)")

            let summary = try await runCommand(
                "caravan", ["call", address, "caravan.trade.v1.TradeService/GetSummary", #"{"year":2024}"#])
            #expect(summary.status == 0, "\(summary.stderr)")
            let answer = try jsonObject(summary.stdout)
            #expect(answer["recordedTotalUsd"] as? Double == 2_500_000)
            #expect((answer["published"] as? [String: Any])?["valueUsd"] as? Double == 94.8e9)
            let milestone = try #require(answer["milestone"] as? [String: Any])
            #expect(milestone["basis"] as? String == "FIGURE_BASIS_PUBLISHED")
            #expect((answer["yearOnYear"] as? [String: Any])?["previousTotalUsd"] as? Double == 1_000_000)

            // Bad input: INVALID_ARGUMENT naming the field (exit 64 + 3); unknown id: NOT_FOUND (64 + 5).
            let bad = try await runCommand(
                "caravan",
                [
                    "call", address, "caravan.trade.v1.TradeService/RecordFlow",
                    #"{"flow":{"year":2024,"country":"XX","direction":"DIRECTION_EXPORT","category":"x","valueUsd":1,"source":"e2e"}}"#,
                ])
            #expect(bad.status == 64 + 3)
            #expect(bad.stderr.contains("INVALID_ARGUMENT: flow.country"), "\(bad.stderr)")
            let missing = try await runCommand(
                "caravan", ["call", address, "caravan.trade.v1.TradeService/GetFlow", #"{"id":"424242"}"#])
            #expect(missing.status == 64 + 5)

            let list = try await runCommand(
                "caravan", ["call", address, "caravan.trade.v1.TradeService/ListFlows", #"{"pageSize":1}"#])
            let page = try jsonObject(list.stdout)
            #expect((page["flows"] as? [Any])?.count == 1)
            let token = try #require(page["nextPageToken"] as? String)
            let foreign = try await runCommand(
                "caravan",
                [
                    "call", address, "caravan.trade.v1.TradeService/ListFlows",
                    #"{"filter":{"country":"TJ"},"pageToken":"\#(token)"}"#,
                ])
            #expect(foreign.status == 64 + 3)
            #expect(foreign.stderr.contains("page_token"))

            let stream = try await runCommand(
                "caravan", ["call", "--compact", address, "caravan.trade.v1.TradeService/StreamFlows", "{}"])
            #expect(stream.status == 0)
            #expect(stream.stdout.split(separator: "\n").count == 2)

            let hub = try await runCommand(
                "caravan", ["call", address, "caravan.trade.v1.TradeService/HubStats", #"{"hub":"horgos"}"#])
            let stats = try jsonObject(hub.stdout)
            #expect(stats["hub"] as? String == "Horgos Yiwu International Trade City")
            #expect((stats["published"] as? [String: Any])?["followers"] as? String == "5000000")
            #expect((stats["cnyUsdRate"] as? [String: Any])?["rate"] as? Double == 0.1394)

            #expect(try await server.stop() == 0, "a clean exit on SIGTERM; log:\n\(server.log)")

            // Restart on the same directory: the flows are there, the seed is not doubled.
            let again = try await self.startTrade(directory)
            let afterRestart = try await runCommand(
                "caravan", ["call", again.address, "caravan.trade.v1.TradeService/GetFlow", #"{"id":"\#(id)"}"#])
            #expect(afterRestart.status == 0, "\(afterRestart.stderr)")
            let summaryAgain = try jsonObject(
                try await runCommand(
                    "caravan", ["call", again.address, "caravan.trade.v1.TradeService/GetSummary", #"{"year":2024}"#]
                ).stdout)
            #expect(summaryAgain["recordedTotalUsd"] as? Double == 2_500_000)
            #expect((summaryAgain["published"] as? [String: Any])?["valueUsd"] as? Double == 94.8e9)
            _ = try await again.stop()
        }
    }

    @Test("Acknowledged writes survive kill -9: record 50 over TCP, SIGKILL, restart, find all 50")
    func durability() async throws {
        try await withTemporaryDirectory("trade-e2e") { directory in
            let server = try await self.startTrade(directory)
            let endpoint = try #require(Endpoint(server.address))
            let acknowledged: [TradeFlow] = try await withClient(endpoint) { rpc in
                let client = TradeServiceClient(wrapping: rpc)
                var flows: [TradeFlow] = []
                for index in 0..<50 {
                    let flow = TradeFlow(
                        year: UInt32(2020 + index % 5), month: UInt32(index % 12 + 1),
                        country: ["KZ", "UZ", "KG", "TJ", "TM"][index % 5],
                        direction: index % 2 == 0 ? .directionExport : .directionImport,
                        category: "durability \(index)", valueUsd: Double(1_000 + index), source: "e2e durability")
                    let response = try await client.recordFlow(
                        RecordFlowRequest(flow: flow, idempotencyKey: "durable-\(index)"))
                    flows.append(try #require(response.flow))
                }
                return flows
            }
            #expect(acknowledged.count == 50)

            _ = try await server.stop(signal: SIGKILL)
            #expect(server.process.terminationReason == .uncaughtSignal)

            let restarted = try await self.startTrade(directory)
            let restartedEndpoint = try #require(Endpoint(restarted.address))
            let found: [TradeFlow] = try await withClient(restartedEndpoint) { rpc in
                let client = TradeServiceClient(wrapping: rpc)
                var flows: [TradeFlow] = []
                var token = ""
                repeat {
                    let page = try await client.listFlows(ListFlowsRequest(pageSize: 20, pageToken: token))
                    flows += page.flows
                    token = page.nextPageToken
                } while !token.isEmpty && flows.count <= 100
                return flows
            }
            #expect(Set(found.map(\.id)) == Set(acknowledged.map(\.id)))
            let byID = Dictionary(found.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
            for flow in acknowledged { #expect(byID[flow.id] == flow) }
            _ = try await restarted.stop()
        }
    }
}
