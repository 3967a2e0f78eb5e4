import CaravanCLI
import CaravanCore
import CaravanTCP
import CaravanTradeAPI
import Foundation
import Testing

/// The address after "`marker` " in a server's output, once it appears.
private func announcedAddress(_ server: ServerProcess, _ marker: String) async throws -> (host: String, port: Int) {
    let deadline = ContinuousClock.now.advanced(by: .seconds(30))
    while ContinuousClock.now < deadline {
        let log = server.log
        if let range = log.range(of: marker + " "), let end = log[range.upperBound...].firstIndex(of: "\n") {
            let address = log[range.upperBound..<end]
            if let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]) {
                return (String(address[..<colon]), port)
            }
        }
        try await Task.sleep(for: .milliseconds(50))
    }
    throw ServerDidNotStart(output: server.log)
}

/// The JSON log lines in a server's output (its stdout lines are not JSON).
private func jsonLogLines(_ server: ServerProcess) -> [[String: Any]] {
    server.log.split(separator: "\n").filter { $0.hasPrefix("{") }.compactMap {
        try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
    }
}

/// The per-call lines of `server` in trace `traceID`.
private func callLines(_ server: ServerProcess, traceID: String) -> [[String: String]] {
    jsonLogLines(server).filter { $0["message"] as? String == "Call finished" }
        .compactMap { $0["metadata"] as? [String: String] }
        .filter { $0["trace_id"] == traceID }
}

/// The value of `name{labels}` in a Prometheus exposition.
private func metric(_ text: String, _ name: String, _ labels: [(String, String)]) -> Double? {
    let series = labels.isEmpty ? name : "\(name){" + labels.map { "\($0.0)=\"\($0.1)\"" }.joined(separator: ",") + "}"
    return text.split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap { Double($0.split(separator: " ").last!) }
}

@Suite("Observability end to end", .serialized, .timeLimit(.minutes(3)))
struct ObservabilityEndToEndTests {
    @Test("A trace sent to the gateway reaches the service's logs; metrics count the calls on both")
    func traceAndMetricsThroughTheGateway() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("caravan-obs-e2e-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let trade = try await ServerProcess(
            "caravan-trade", ["--port", "0", "--data-dir", directory, "--log-format", "json", "--metrics-port", "0"])
        let gateway = try await ServerProcess(
            "caravan-gateway",
            ["--port", "0", "--http-port", "0", "--trade", trade.address, "--log-format", "json", "--metrics-port", "0"])
        let tradeMetrics = try await announcedAddress(trade, "caravan-trade metrics on")
        let gatewayMetrics = try await announcedAddress(gateway, "caravan-gateway metrics on")
        let http = try await announcedAddress(gateway, "caravan-gateway HTTP on")
        let method = "caravan.trade.v1.TradeService/GetSummary"

        // Over HTTP with a traceparent: the gateway continues it and names it in X-Trace-Id.
        let httpTrace = "0af7651916cd43dd8448eb211c80319c"
        let traced = try await curlWithHeaders([
            "-X", "POST", "-d", #"{"year":2024}"#, "-H", "traceparent: 00-\(httpTrace)-b7ad6b7169203331-01",
            "http://127.0.0.1:\(http.port)/v1/\(method)",
        ])
        #expect(traced.status == 200, "\(traced.body)")
        #expect(traced.headers["x-trace-id"] == httpTrace)
        // Over HTTP without one: the gateway begins a trace.
        let untraced = try await curlWithHeaders([
            "-X", "POST", "-d", #"{"year":2024}"#, "http://127.0.0.1:\(http.port)/v1/\(method)",
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
            // (Both lines were written before the answer; the test reads the pipes on its own time.)
            var served: [[String: String]] = []
            var forwarded: [[String: String]] = []
            for _ in 0..<100 where served.isEmpty || forwarded.isEmpty {
                served = callLines(trade, traceID: traceID)
                forwarded = callLines(gateway, traceID: traceID)
                if served.isEmpty || forwarded.isEmpty { try await Task.sleep(for: .milliseconds(50)) }
            }
            let atService = try #require(served.first, "trace \(traceID) not in the trade log:\n\(trade.log)")
            let atGateway = try #require(forwarded.first, "trace \(traceID) not in the gateway log:\n\(gateway.log)")
            #expect(atService["rpc.method"] == method && atService["rpc.code"] == "OK")
            #expect(atGateway["rpc.method"] == method)
            #expect(atService["parent_span_id"] == atGateway["span_id"])
        }
        #expect(callLines(gateway, traceID: rpcTrace).first?["parent_span_id"] == "00f067aa0ba902b7")
        // An HTTP call's peer is the HTTP client, as a TCP call's is.
        let httpPeer = callLines(gateway, traceID: httpTrace).first?["rpc.peer"]
        #expect(httpPeer?.hasPrefix("127.0.0.1:") == true, "\(httpPeer ?? "none")")

        // Every line the service wrote on standard error is JSON.
        let stderrLines = trade.log.split(separator: "\n").filter { !$0.contains(" listening on ") && !$0.contains(" metrics on ") }
        #expect(!stderrLines.isEmpty)
        for line in stderrLines {
            #expect((try? JSONSerialization.jsonObject(with: Data(line.utf8))) is [String: Any], "not JSON: \(line)")
        }

        // Three calls to GetSummary, counted at the service and at the gateway.
        let labels = [("method", method), ("code", "OK")]
        let atService = try await curlWithHeaders(["http://127.0.0.1:\(tradeMetrics.port)/metrics"])
        #expect(metric(atService.body, "caravan_rpc_server_handled_total", labels) == 3, "\(atService.body)")
        #expect(metric(atService.body, "caravan_rpc_server_started_total", [("method", method)]) == 3)
        let atGateway = try await curlWithHeaders(["http://127.0.0.1:\(gatewayMetrics.port)/metrics"])
        #expect(metric(atGateway.body, "caravan_rpc_server_handled_total", labels) == 3, "\(atGateway.body)")
        // The gateway's HTTP port serves the same registry.
        let onHTTPPort = try await curlWithHeaders(["http://127.0.0.1:\(http.port)/metrics"])
        #expect(onHTTPPort.status == 200)
        #expect(metric(onHTTPPort.body, "caravan_rpc_server_handled_total", labels) == 3)
        // The pool's view of its one replica, sampled twice a second.
        var healthy: Double?
        for _ in 0..<60 where healthy != 1 {
            let scrape = try await curlWithHeaders(["http://127.0.0.1:\(gatewayMetrics.port)/metrics"])
            healthy = metric(scrape.body, "caravan_gateway_replica_healthy", [("backend", "trade"), ("replica", trade.address)])
            if healthy != 1 { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(healthy == 1)
        #expect(metric(atGateway.body, "caravan_gateway_retries_total", [("backend", "trade")]) == 0)

        #expect(try await gateway.stop() == 0)
        #expect(try await trade.stop() == 0)
    }
}
