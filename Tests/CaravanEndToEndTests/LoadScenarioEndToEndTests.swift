import CaravanTestSupport
import Foundation
import Testing

/// `caravan load --scenario` against the real service executables.
@Suite("caravan load scenarios end to end", .serialized, .timeLimit(.minutes(5)))
struct LoadScenarioEndToEndTests {
    static func start(_ service: String, _ directory: String, port: Int = 0) async throws -> ServerProcess {
        let data = directory + "/" + service + "-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        return try await ServerProcess(
            "caravan-\(service)", ["--port", "\(port)", "--data-dir", data, "--log-level", "warning"])
    }

    /// Runs a scenario with a JSON report; the report, after checking it ran every step without an error.
    static func runCleanly(_ scenario: String, at address: String, calls: Int) async throws -> [String: Any] {
        let result = try await runCommand(
            "caravan",
            [
                "load", address, "--scenario", scenario, "-n", "\(calls)", "-c", "4", "--timeout", "10s", "--format",
                "json",
            ],
            timeout: .seconds(120))
        #expect(result.status == 0, "\(result.stderr)")
        let report = try jsonObject(result.stdout)
        #expect(report["calls"] as? Int == calls)
        #expect(report["errors"] as? Int == 0, "\(report["status_codes"] ?? "") \(report["top_errors"] ?? "")")
        #expect(report["scenario"] as? String == scenario)
        let methods = report["methods"] as? [[String: Any]] ?? []
        #expect(methods.reduce(0) { $0 + ($1["calls"] as? Int ?? 0) } == calls)
        for method in methods {
            #expect((method["calls"] as? Int ?? 0) > 0, "\(scenario): \(method["name"] ?? "") ran")
            #expect(
                method["errors"] as? Int == 0, "\(scenario): \(method["name"] ?? ""): \(method["top_errors"] ?? "")")
        }
        return report
    }

    @Test(
        "Each service's built-in scenario runs against it without an error, reported per method",
        arguments: [("trade", 9), ("logistics", 7), ("training", 7)])
    func serviceScenario(service: String, steps: Int) async throws {
        try await withTemporaryDirectory("load-e2e") { directory in
            let server = try await Self.start(service, directory)
            let report = try await Self.runCleanly(service, at: server.address, calls: 240)
            #expect((report["methods"] as? [Any])?.count == steps)
            _ = try await server.stop()
        }
    }

    @Test("The gateway scenario runs against a gateway in front of the three services")
    func gatewayScenario() async throws {
        try await withTemporaryDirectory("load-e2e") { directory in
            let trade = try await Self.start("trade", directory)
            let logistics = try await Self.start("logistics", directory)
            let training = try await Self.start("training", directory)
            let gateway = try await ServerProcess(
                "caravan-gateway",
                [
                    "--port", "0", "--http-port=-1", "--log-level", "warning", "--trade", trade.address,
                    "--logistics", logistics.address, "--training", training.address,
                ])
            let report = try await Self.runCleanly("gateway", at: gateway.address, calls: 120)
            let names = (report["methods"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
            #expect(names.contains("CountryProfile") && names.contains("routed-find-route"))
            for server in [gateway, trade, logistics, training] { _ = try await server.stop() }
        }
    }

    @Test(
        "The service is killed and restarted mid-run: the run goes on, counts UNAVAILABLE, recovers; Ctrl-C writes the report"
    )
    func killedAndRestarted() async throws {
        try await withTemporaryDirectory("load-e2e") { directory in
            let first = try await Self.start("logistics", directory)
            let address = first.address
            let port = try #require(Int(address.split(separator: ":").last ?? ""))
            let reportPath = directory + "/report.json"
            let load = try ChildProcess(
                path: BuiltProducts.path("caravan"),
                arguments: [
                    "load", address, "--scenario", "logistics", "--rps", "100", "--duration", "120s", "--timeout", "2s",
                    "--format", "json", "--output", reportPath,
                ], standardError: .discarded)
            // Some calls succeed, then the service dies without a goodbye;
            // the calls made until it is back on its port fail UNAVAILABLE.
            #expect(try await eventually { try await Self.hasBookings(address) }, "the run booked shipments")
            _ = try await first.stop(signal: SIGKILL)
            // Back on the same port with a new data directory: whatever it
            // holds was booked by the run after the restart.
            let second = try await Self.start("logistics", directory, port: port)
            #expect(
                try await eventually { try await Self.hasBookings(second.address) },
                "the run booked shipments once the service was back")
            // Ctrl-C: the run stops and writes its report.
            load.signal(SIGINT)
            #expect(try await load.finish().status == 0)
            let report = try jsonObject(try String(contentsOfFile: reportPath, encoding: .utf8))
            let codes = report["status_codes"] as? [String: Int] ?? [:]
            #expect((codes["OK"] ?? 0) > 0, "\(codes)")
            #expect((codes["UNAVAILABLE"] ?? 0) > 0, "the outage is counted: \(codes) \(report["top_errors"] ?? "")")
            #expect((report["methods"] as? [Any])?.count == 7)
            _ = try await second.stop()
        }
    }

    /// Whether the logistics service at `address` holds a shipment.
    static func hasBookings(_ address: String) async throws -> Bool {
        let listed = try await runCommand(
            "caravan",
            [
                "call", "--compact", "--timeout", "10s", address,
                "caravan.logistics.v1.LogisticsService/ListShipments", #"{"pageSize": 1}"#,
            ])
        return ((try? jsonObject(listed.stdout))?["shipments"] as? [Any])?.isEmpty == false
    }

    @Test(
        "--list-scenarios lists the built-ins; a bad scenario file is a usage error (exit 64) that says what is wrong")
    func listingAndBadFiles() async throws {
        let listing = try await runCommand("caravan", ["load", "--list-scenarios"])
        #expect(listing.status == 0, "\(listing.stderr)")
        for name in ["trade", "logistics", "training", "gateway"] {
            #expect(listing.stdout.contains("\(name)  (caravan."), "\(name) is listed")
        }
        #expect(listing.stdout.contains("FindRoute"))

        try await withTemporaryDirectory("load-e2e") { directory in
            let path = directory + "/bad.json"
            try #"{"name": "bad", "service": "caravan.echo.v1.Echo", "steps": [{"method": "Unary", "weight": 0}]}"#
                .write(toFile: path, atomically: true, encoding: .utf8)
            let bad = try await runCommand("caravan", ["load", "127.0.0.1:1", "--scenario-file", path, "-n", "1"])
            #expect(bad.status == 64)
            #expect(bad.stderr.contains("weight must be a positive whole number"), "\(bad.stderr)")

            let unknown = try await runCommand("caravan", ["load", "127.0.0.1:1", "--scenario", "nonesuch", "-n", "1"])
            #expect(unknown.status == 64)
            #expect(unknown.stderr.contains("No built-in scenario 'nonesuch'"), "\(unknown.stderr)")

            let both = try await runCommand(
                "caravan", ["load", "127.0.0.1:1", "--scenario", "trade", "--call", "caravan.echo.v1.Echo/Unary"])
            #expect(both.status == 64)
        }
    }
}
