import CaravanCore
import CaravanEchoAPI
import CaravanTCP
import CaravanTestSupport
import Foundation
import Testing

/// What the runtime's behaviours look like from outside, through the real
/// executables: the words a refused connection reaches the user with, the
/// gateway's HTTP door and its deadline, a negative option value.
@Suite("The runtime seen from outside", .serialized, .timeLimit(.minutes(3)))
struct RuntimeEndToEndTests {
    @Test("A port nobody listens on reads as \"connection refused\", in plain words")
    func refusedInPlainWords() async throws {
        let server = try await ServerProcess("caravan", ["echo-server", "--port", "0"])
        let address = server.address
        _ = try await server.stop()  // the port was just free, and is again
        let health = try await runCommand("caravan", ["health", "--timeout", "2s", address])
        #expect(health.status != 0)
        #expect(health.stderr.contains("Cannot connect to \(address): connection refused"), "\(health.stderr)")
        #expect(
            !health.stderr.contains("SingleConnectionFailure") && !health.stderr.contains("errno"), "\(health.stderr)")
    }

    @Test("A client over the server's connection limit is told why, as UNAVAILABLE with the server's words")
    func connectionLimitReason() async throws {
        let server = try await ServerProcess("caravan", ["echo-server", "--port", "0", "--max-connections", "1"])
        let endpoint = try #require(Endpoint(server.address))
        // This process holds the server's only connection while `caravan call` tries for a second.
        let holder = TCPClientTransport(host: endpoint.host, port: endpoint.port)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await holder.run() }
            defer { holder.close() }
            _ = try await EchoClient(wrapping: RPCClient(transport: holder)).unary(EchoRequest(text: "first"))
            let refused = try await runCommand(
                "caravan",
                ["call", "--timeout", "3s", server.address, "caravan.echo.v1.Echo/Unary", #"{"text":"second"}"#])
            #expect(refused.status == 64 + 14, "UNAVAILABLE: \(refused.stderr)")
            #expect(refused.stderr.contains("Too many connections (limit 1)."), "\(refused.stderr)")
        }
        _ = try await server.stop()
    }

    @Test("Handlers on the event loop are refused for a service on SQLite, with the reason, before it serves")
    func eventLoopHandlersNeedPostgres() async throws {
        let directory = try TemporaryDirectory("runtime-e2e-handlers")
        defer { directory.remove() }
        for service in ["trade", "logistics", "training"] {
            let refused = try await runCommand(
                "caravan-\(service)",
                ["--port", "0", "--data-dir", directory.path, "--handler-execution", "event-loop"])
            #expect(refused.status != 0, "caravan-\(service) started")
            #expect(refused.stderr.contains("--handler-execution event-loop needs --database"), "\(refused.stderr)")
        }
    }

    @Test("--http-port -1 turns the HTTP door off (a negative value, written apart)")
    func negativeOption() async throws {
        let gateway = try await ServerProcess(
            "caravan-gateway", ["--port", "0", "--http-port", "-1", "--log-level", "warning"])
        #expect(!gateway.log.contains("HTTP on"))
        let health = try await runCommand("caravan", ["health", gateway.address])
        #expect(health.status == 0, "\(health.stderr)")
        #expect(try await gateway.stop() == 0)
        let bad = try await runCommand("caravan-gateway", ["--port", "0", "--http-port", "-7"])
        #expect(bad.status != 0 && bad.stderr.contains("-1...65535"), "\(bad.stderr)")
    }

    @Test("The HTTP door's default deadline: a frozen backend's section times out inside it, a routed call answers 504")
    func httpDoorDeadline() async throws {
        let directories = try ["trade", "training"].map { try TemporaryDirectory("runtime-e2e-\($0)") }
        defer { for directory in directories { directory.remove() } }
        let trade = try await startService("trade", directory: directories[0].path)
        let training = try await startService("training", directory: directories[1].path)
        let gateway = try await ServerProcess(
            "caravan-gateway",
            [
                "--port", "0", "--http-port", "0", "--http-timeout", "2s", "--log-level", "warning", "--trade",
                trade.address,
                "--training", training.address,
            ])
        let base = try await httpBase(gateway)
        try await training.pause()
        defer { training.resume() }
        // No X-Caravan-Timeout: the door's 2 s applies. The answer is partial, its sections
        // stopped just before the deadline (on a machine too slow to assemble it within the
        // margin, the door's own deadline answers 504 instead); it never waits for the backend.
        let overview = try await curl(["\(base)/v1/overview?year=2024"])
        if overview.status == 200 {
            #expect(overview.body.contains(#""partial":true"#))
            #expect(overview.body.contains("SECTION_STATUS_TIMED_OUT"), "\(overview.body)")
        } else {
            #expect(overview.status == 504, "\(overview.body)")
        }
        let routed = try await curl([
            "-X", "POST", "-d", "{}", "\(base)/v1/caravan.training.v1.TrainingService/ListPrograms",
        ])
        #expect(routed.status == 504, "\(routed.body)")
        #expect(routed.body.contains(#""code":4"#))
        training.resume()
        #expect(try await gateway.stop() == 0)
        _ = try await training.stop()
        _ = try await trade.stop()
    }
}
