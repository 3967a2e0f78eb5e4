import CaravanCLI
import CaravanCore
import CaravanServiceKit
import CaravanTCP
import CaravanTestSupport
import CaravanTradeAPI
import Foundation
import Testing

/// The port after "`marker` " in a server's output, once it appears.
private func announcedPort(_ server: ServerProcess, _ marker: String) async throws -> Int {
    let address = try await server.announced(marker + " ")
    return try #require(Endpoint(address)?.port, "not an address: \(address)")
}

/// The per-call lines in trace `traceID` of a log (its stdout lines are not JSON).
private func callLines(_ log: String, traceID: String) -> [[String: String]] {
    log.split(separator: "\n").filter { $0.hasPrefix("{") }.compactMap { try? jsonObject(String($0)) }
        .filter { $0["message"] as? String == "Call finished" }
        .compactMap { $0["metadata"] as? [String: String] }
        .filter { $0["trace_id"] == traceID }
}

@Suite("Observability end to end", .serialized, .timeLimit(.minutes(3)))
struct ObservabilityEndToEndTests {
    @Test("A trace sent to the gateway reaches the service's logs; metrics count the calls on both")
    func traceAndMetricsThroughTheGateway() async throws {
        let directory = try TemporaryDirectory("obs-e2e")
        defer { directory.remove() }
        let trade = try await ServerProcess(
            "caravan-trade",
            ["--port", "0", "--data-dir", directory.path, "--log-format", "json", "--metrics-port", "0"])
        let gateway = try await ServerProcess(
            "caravan-gateway",
            [
                "--port", "0", "--http-port", "0", "--trade", trade.address, "--log-format", "json", "--metrics-port",
                "0",
            ])
        let tradeMetrics = try await announcedPort(trade, "caravan-trade metrics on")
        let gatewayMetrics = try await announcedPort(gateway, "caravan-gateway metrics on")
        let http = try await announcedPort(gateway, "caravan-gateway HTTP on")
        let method = "caravan.trade.v1.TradeService/GetSummary"

        // Over HTTP with a traceparent: the gateway continues it and names it in X-Trace-Id.
        let httpTrace = "0af7651916cd43dd8448eb211c80319c"
        let traced = try await curl([
            "-X", "POST", "-d", #"{"year":2024}"#, "-H", "traceparent: 00-\(httpTrace)-b7ad6b7169203331-01",
            "http://127.0.0.1:\(http)/v1/\(method)",
        ])
        #expect(traced.status == 200, "\(traced.body)")
        #expect(traced.headers["x-trace-id"] == httpTrace)
        // Over HTTP without one: the gateway begins a trace.
        let untraced = try await curl([
            "-X", "POST", "-d", #"{"year":2024}"#, "http://127.0.0.1:\(http)/v1/\(method)",
        ])
        let begun = try #require(untraced.headers["x-trace-id"])
        #expect(begun.count == 32 && begun != httpTrace)
        // Over RPC with a traceparent in the frame.
        let rpcTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
        let transport = TCPClientTransport(host: "127.0.0.1", port: Int(gateway.address.split(separator: ":").last!)!)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await transport.run() }
            defer { transport.close() }
            let client = TradeServiceClient(wrapping: RPCClient(transport: transport, retryPolicy: .none))
            let caller = ServerContext(
                descriptor: TradeService.Method.getSummary,
                trace: TraceContext(traceparent: "00-\(rpcTrace)-00f067aa0ba902b7-01"))
            _ = try await ServerContext.$current.withValue(caller) {
                try await client.getSummary(GetSummaryRequest(year: 2024), options: CallOptions(timeout: .seconds(10)))
            }
        }

        for traceID in [httpTrace, begun, rpcTrace] {
            // The service logs the call in the same trace, as a child of the gateway's span.
            // (Both lines were written before the answer; the test reads the pipes as they arrive.)
            let served = try await trade.waitForLog("trace \(traceID) in the trade log") {
                !callLines($0, traceID: traceID).isEmpty
            }
            let forwarded = try await gateway.waitForLog("trace \(traceID) in the gateway log") {
                !callLines($0, traceID: traceID).isEmpty
            }
            let atService = try #require(callLines(served, traceID: traceID).first)
            let atGateway = try #require(callLines(forwarded, traceID: traceID).first)
            #expect(atService["rpc.method"] == method && atService["rpc.code"] == "OK")
            #expect(atGateway["rpc.method"] == method)
            #expect(atService["parent_span_id"] == atGateway["span_id"])
        }
        #expect(callLines(gateway.log, traceID: rpcTrace).first?["parent_span_id"] == "00f067aa0ba902b7")
        // An HTTP call's peer is the HTTP client, as a TCP call's is.
        let httpPeer = callLines(gateway.log, traceID: httpTrace).first?["rpc.peer"]
        #expect(httpPeer?.hasPrefix("127.0.0.1:") == true, "\(httpPeer ?? "none")")

        // Every line the service wrote on standard error is JSON.
        let stderrLines = trade.log.split(separator: "\n").filter {
            !$0.contains(" listening on ") && !$0.contains(" metrics on ")
        }
        #expect(!stderrLines.isEmpty)
        for line in stderrLines {
            #expect((try? jsonObject(String(line))) != nil, "not JSON: \(line)")
        }

        // Three calls to GetSummary, counted at the service and at the gateway.
        let labels = ["method": method, "code": "OK"]
        let atService = try await httpGet(port: tradeMetrics, path: "/metrics")
        #expect(prometheusSample(atService.body, "caravan_rpc_server_handled_total", labels) == 3, "\(atService.body)")
        #expect(prometheusSample(atService.body, "caravan_rpc_server_started_total", ["method": method]) == 3)
        let atGateway = try await httpGet(port: gatewayMetrics, path: "/metrics")
        #expect(prometheusSample(atGateway.body, "caravan_rpc_server_handled_total", labels) == 3, "\(atGateway.body)")
        // The gateway's HTTP port serves the same registry.
        let onHTTPPort = try await httpGet(port: http, path: "/metrics")
        #expect(onHTTPPort.status == 200)
        #expect(prometheusSample(onHTTPPort.body, "caravan_rpc_server_handled_total", labels) == 3)
        // The pool's view of its one replica, sampled twice a second.
        let replica = ["backend": "trade", "replica": trade.address]
        #expect(
            try await eventually {
                let scrape = try await httpGet(port: gatewayMetrics, path: "/metrics")
                return prometheusSample(scrape.body, "caravan_gateway_replica_healthy", replica) == 1
            })
        #expect(prometheusSample(atGateway.body, "caravan_gateway_retries_total", ["backend": "trade"]) == 0)

        #expect(try await gateway.stop() == 0)
        #expect(try await trade.stop() == 0)
    }
}
