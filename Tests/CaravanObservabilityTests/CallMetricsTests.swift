import CaravanCore
import CaravanEcho
import CaravanEchoAPI
import CaravanObservability
import CaravanServer
import CaravanTCP
import CaravanTestSupport
import Foundation
import Logging
import NIOCore
import Prometheus
import Testing

/// An echo server with the call observer and transport metrics on a
/// registry of its own, and `/metrics` served from it, on ephemeral ports.
private struct ObservedEchoServer {
    let registry = PrometheusCollectorRegistry()
    let logs = CapturedLines()

    func run<Result: Sendable>(_ body: (_ rpcPort: Int, _ metricsPort: Int) async throws -> Result) async throws
        -> Result
    {
        let factory = Observability.metricsFactory(registry: self.registry)
        let logger = self.logs.logger(format: .json, level: .info)
        let server = RPCServer(
            services: [EchoService()], configuration: ServerConfiguration(host: "127.0.0.1", port: 0),
            interceptors: [CallObserver(logger: logger, callLogLevel: .info, metrics: CallMetrics(factory: factory))],
            logger: logger, transportMetrics: TransportMetrics(factory: factory))
        let (bound, boundContinuation) = AsyncStream.makeStream(of: SocketAddress.self)
        let metrics = MetricsHTTPServer(host: "127.0.0.1", port: 0, registry: self.registry, logger: logger) {
            boundContinuation.yield($0)
        }
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await metrics.run() }
            defer { group.cancelAll() }
            var iterator = bound.makeAsyncIterator()
            let metricsPort = try #require(await iterator.next()?.port)
            return try await withServer(server) { _, rpcPort in try await body(rpcPort, metricsPort) }
        }
    }
}

@Suite("Metrics and call logs of a served echo", .timeLimit(.minutes(1)))
struct CallMetricsTests {
    @Test("A scrape after a known number of calls shows exactly those counts")
    func exactCounts() async throws {
        let server = ObservedEchoServer()
        try await server.run { rpcPort, metricsPort in
            let transport = TCPClientTransport(host: "127.0.0.1", port: rpcPort)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await transport.run() }
                defer { transport.close() }
                let client = RPCClient(transport: transport, retryPolicy: .none)
                let echo = EchoClient(wrapping: client)
                for index in 0..<7 { _ = try await echo.unary(EchoRequest(text: "call \(index)")) }
                for _ in 0..<3 {
                    await #expect(throws: RPCError.self) {
                        try await echo.fail(FailRequest(code: 5, message: "no such thing"))
                    }
                }
                await #expect(throws: RPCError.self) {
                    try await client.unary(
                        descriptor: MethodDescriptor(service: "caravan.echo.v1.Echo", method: "Nope"), request: [])
                }

                let scrape = try await httpGet(port: metricsPort, path: "/metrics")
                #expect(scrape.status == 200)
                let text = scrape.body
                let unary = "caravan.echo.v1.Echo/Unary"
                let fail = "caravan.echo.v1.Echo/Fail"
                #expect(prometheusSample(text, "caravan_rpc_server_started_total", ["method": unary]) == 7, "\(text)")
                #expect(
                    prometheusSample(text, "caravan_rpc_server_handled_total", ["method": unary, "code": "OK"]) == 7)
                #expect(prometheusSample(text, "caravan_rpc_server_started_total", ["method": fail]) == 3)
                #expect(
                    prometheusSample(text, "caravan_rpc_server_handled_total", ["method": fail, "code": "NOT_FOUND"])
                        == 3)
                #expect(prometheusSample(text, "caravan_rpc_server_duration_seconds_count", ["method": unary]) == 7)
                #expect(prometheusSample(text, "caravan_rpc_server_in_flight") == 0)
                #expect(prometheusSample(text, "caravan_rpc_server_rejected_total", ["reason": "unknown_method"]) == 1)
                #expect(
                    prometheusSample(text, "caravan_rpc_server_rejected_total", ["reason": "concurrency_limit"]) == 0)
                #expect(prometheusSample(text, "caravan_tcp_connections") == 1)
                // Eleven calls: a REQUEST frame in and a RESPONSE frame out each.
                #expect(prometheusSample(text, "caravan_tcp_frames_total", ["direction": "in"]) == 11)
                #expect(prometheusSample(text, "caravan_tcp_frames_total", ["direction": "out"]) == 11)
                let bytesIn = try #require(prometheusSample(text, "caravan_tcp_bytes_total", ["direction": "in"]))
                #expect(bytesIn >= 11 * 14)
                #expect(text.contains("# TYPE caravan_rpc_server_duration_seconds histogram"))

                #expect(try await httpGet(port: metricsPort, path: "/other").status == 404)
            }
        }
    }

    @Test("One JSON line per call with method, status, latency, peer, call id and the caller's trace")
    func callLines() async throws {
        let server = ObservedEchoServer()
        let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        try await server.run { rpcPort, _ in
            let transport = TCPClientTransport(host: "127.0.0.1", port: rpcPort)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await transport.run() }
                defer { transport.close() }
                let echo = EchoClient(wrapping: RPCClient(transport: transport, retryPolicy: .none))
                // A client that is itself serving a call hands its trace on.
                let caller = ServerContext(descriptor: Echo.Method.unary, trace: TraceContext(traceparent: traceparent))
                _ = try await ServerContext.$current.withValue(caller) {
                    try await echo.unary(EchoRequest(text: "traced"))
                }
                _ = try await echo.unary(EchoRequest(text: "untraced"))
                await #expect(throws: RPCError.self) { try await echo.fail(FailRequest(code: 7, message: "denied")) }
            }
        }
        let lines = try server.logs.lines.map(jsonObject).filter { $0["message"] as? String == "Call finished" }
        #expect(lines.count == 3)
        let metadata = lines.compactMap { $0["metadata"] as? [String: String] }
        #expect(metadata.count == 3)
        for (index, fields) in metadata.enumerated() {
            #expect(fields["rpc.call_id"] == "\(index + 1)")
            #expect(fields["rpc.peer"]?.hasPrefix("127.0.0.1:") == true)
            #expect(fields["rpc.latency_ms"].flatMap(Double.init) != nil)
            #expect(fields["trace_id"]?.count == 32 && fields["span_id"]?.count == 16)
        }
        #expect(metadata[0]["rpc.method"] == "caravan.echo.v1.Echo/Unary" && metadata[0]["rpc.code"] == "OK")
        #expect(metadata[0]["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(metadata[0]["parent_span_id"] == "00f067aa0ba902b7")
        // No trace sent: the server began one.
        #expect(metadata[1]["trace_id"] != "4bf92f3577b34da6a3ce929d0e0e4736" && metadata[1]["parent_span_id"] == nil)
        #expect(metadata[2]["rpc.code"] == "PERMISSION_DENIED" && metadata[2]["rpc.error"] == "denied")
    }
}
