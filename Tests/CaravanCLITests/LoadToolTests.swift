import Atomics
import CaravanCLI
import CaravanCore
import CaravanEcho
import CaravanEchoAPI
import CaravanServer
import CaravanServiceKit
import CaravanTCP
import CaravanTestSupport
import Foundation
import NIOCore
import Testing

@Suite("Request templates")
struct RequestTemplateTests {
    @Test("Placeholders render per call; constant text stays constant")
    func rendering() throws {
        let template = try RequestTemplate(
            #"{"text":"flow-{{n}}-w{{worker}}","id":"{{uuid}}","c":"{{pick KZ|UZ}}","v":{{rand 5 7}}}"#)
        #expect(!template.isConstant)
        let first = template.render(number: 41, worker: 3)
        #expect(first.contains(#""text":"flow-41-w3""#))
        let object = try jsonObject(first)
        #expect(["KZ", "UZ"].contains(object["c"] as? String ?? ""))
        #expect((5...7).contains(object["v"] as? Int ?? 0))
        #expect((object["id"] as? String)?.count == 36)
        #expect(template.render(number: 1, worker: 0) != template.render(number: 1, worker: 0), "uuids differ")
        #expect(try RequestTemplate(#"{"text":"plain"}"#).isConstant)
    }

    @Test(
        "Malformed placeholders are refused with a clear message",
        arguments: ["{{n", "{{nope}}", "{{pick}}", "{{rand 9 1}}"])
    func malformed(text: String) {
        #expect(throws: TemplateError.self) { _ = try RequestTemplate(text) }
    }
}

@Suite("Rate schedules")
struct RateScheduleTests {
    @Test("A constant rate spaces calls evenly")
    func constant() {
        let schedule = RateSchedule.constant(1000)
        #expect(schedule.intendedOffset(ofCall: 0) == 0)
        #expect(abs(schedule.intendedOffset(ofCall: 500) - 0.5) < 1e-9)
    }

    @Test("A ramp issues the integral of its rate, then holds the final rate")
    func ramp() throws {
        let schedule = try #require(RateSchedule(ramp: "100:300:10s"))
        // Over the 10 s ramp: 100·10 + (200/10)·10²/2 = 2000 calls.
        #expect(abs(schedule.intendedOffset(ofCall: 2000) - 10) < 1e-6)
        // 300 more calls take one second at 300/s.
        #expect(abs(schedule.intendedOffset(ofCall: 2300) - 11) < 1e-6)
        // Offsets only grow.
        var last = -1.0
        for call in stride(from: 0, to: 3000, by: 7) {
            let offset = schedule.intendedOffset(ofCall: call)
            #expect(offset > last)
            last = offset
        }
        #expect(RateSchedule(ramp: "100:300") == nil)
        #expect(RateSchedule(ramp: "0:300:5s") == nil)
    }
}

@Suite("Load runs against a real server", .serialized, .timeLimit(.minutes(2)))
struct LoadRunTests {
    func sleepPlan(_ endpoint: Endpoint, millis: Int, rate: RateSchedule? = nil, stop: LoadPlan.Stop) throws -> LoadPlan
    {
        let method = try #require(SchemaRegistry.method(named: "caravan.echo.v1.Echo/Sleep"))
        let request = try SchemaRegistry.encodeJSON(Data(#"{"millis":\#(millis)}"#.utf8), as: method.inputType)
        return LoadPlan(
            endpoint: endpoint, method: method, request: .fixed(request), concurrency: 4, connections: 1,
            stop: stop, rate: rate)
    }

    @Test("The histogram reports a handler's known latency")
    func knownLatency() async throws {
        let report = try await withEchoServer { endpoint in
            try await LoadGenerator.run(try self.sleepPlan(endpoint, millis: 20, stop: .count(40)))
        }
        #expect(report.calls == 40)
        #expect(report.errors == 0)
        #expect(report.p50Us >= 20_000, "no call can be faster than the 20 ms sleep")
        // An upper bound that a busy machine cannot trip but a unit error
        // (microseconds read as nanoseconds or milliseconds) would.
        #expect(report.p50Us < 2_000_000)
        #expect(report.statusCodes == ["OK": 40])
    }

    @Test("Open loop measures from the intended start: a stalled server shows as latency")
    func coordinatedOmission() async throws {
        // 100 calls/s against a 50 ms handler with at most 1 call in flight
        // would hide the queueing in a closed loop; open loop counts it.
        let report = try await withEchoServer { endpoint in
            var plan = try self.sleepPlan(endpoint, millis: 50, rate: .constant(100), stop: .duration(.seconds(1)))
            plan.concurrency = 1000
            return try await LoadGenerator.run(plan)
        }
        #expect(report.model == "open")
        #expect(report.calls >= 90 && report.calls <= 110, "about 100 calls in one second: \(report.calls)")
        #expect(report.p50Us >= 50_000)
    }

    @Test("The JSON report has the fields CI and scripts read, and --compare flags regressions")
    func jsonReportAndComparison() async throws {
        let report = try await withEchoServer { endpoint in
            let method = try #require(SchemaRegistry.method(named: "caravan.echo.v1.Echo/Unary"))
            let template = try RequestTemplate(#"{"text":"call {{n}}"}"#)
            return try await LoadGenerator.run(
                LoadPlan(
                    endpoint: endpoint, method: method, request: .template(template), concurrency: 8, connections: 2,
                    stop: .count(500)))
        }
        let json = try jsonObject(try report.json())
        for key in [
            "calls", "errors", "qps", "p50_us", "p75_us", "p90_us", "p95_us", "p99_us", "p999_us", "max_us",
            "status_codes", "model",
        ] {
            #expect(json[key] != nil, "\(key) is in the JSON report")
        }
        #expect(json["calls"] as? Int == 500)
        var slower = report
        slower.qps = report.qps / 2
        slower.p99Us = report.p99Us * 3
        let comparison = LoadComparison(baseline: report, current: slower, threshold: 0.10)
        #expect(Set(comparison.regressions.map(\.metric)) == ["qps", "p99_us"])
        #expect(LoadComparison(baseline: report, current: report, threshold: 0.10).regressions.isEmpty)
    }

    @Test("A target that dies mid-run: the run goes on, counts UNAVAILABLE, and reconnects when it returns")
    func targetRestartsMidRun() async throws {
        let port: Int = try await withEchoServer { endpoint in endpoint.port }  // a port that was just free
        let endpoint = Endpoint(host: "127.0.0.1", port: port)
        let method = try #require(SchemaRegistry.method(named: "caravan.echo.v1.Echo/Unary"))
        // Stopped by the test once the target has come back (the duration is only a hang guard).
        let plan = LoadPlan(
            endpoint: endpoint, method: method, request: .fixed([]), concurrency: 2, connections: 1,
            stop: .duration(.seconds(600)), rate: .constant(200))
        let target = CountingEcho()
        let finished = Watched(0)
        let stop = ManagedAtomic(false)
        let report = try await withThrowingTaskGroup(of: LoadReport?.self) { group in
            group.addTask {
                // Up until it has served 20 calls; down until the run has
                // finished 10 calls more than were served (those failed);
                // up again until it has served 20 more.
                try await Self.serve(target, on: port, until: 20)
                let served = target.served.value
                try await finished.wait(for: "calls while the target is down", until: { $0 >= served + 10 })
                try await Self.serve(target, on: port, until: served + 20)
                stop.store(true, ordering: .relaxed)
                return nil
            }
            group.addTask {
                try await LoadGenerator.run(plan, stop: stop) { count, _ in finished.update { $0 = count } }
            }
            var report: LoadReport?
            for try await result in group { if let result { report = result } }
            return try #require(report)
        }
        #expect(
            (report.statusCodes["OK"] ?? 0) >= 40, "calls succeeded before and after the outage: \(report.statusCodes)")
        #expect((report.statusCodes["UNAVAILABLE"] ?? 0) > 0, "the outage is counted: \(report.statusCodes)")
    }

    /// Serves `target` on `port` until it has served `count` calls in all.
    static func serve(_ target: CountingEcho, on port: Int, until count: Int) async throws {
        let server = RPCServer(services: [target], configuration: ServerConfiguration(host: "127.0.0.1", port: port))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            // Listening before it may stop (TCPServer.run crashes when stopped mid-start).
            _ = try await server.listeningAddress
            try await target.served.wait(for: "\(count) calls served", until: { $0 >= count })
            server.beginGracefulShutdown()
            try await group.waitForAll()
        }
    }
}

/// The echo service, counting the unary calls it has answered.
final class CountingEcho: EchoServiceProtocol, Sendable {
    let served = Watched(0)
    private let echo = EchoService()

    func unary(request: EchoRequest, context: ServerContext) async throws -> EchoResponse {
        let response = try await self.echo.unary(request: request, context: context)
        self.served.update { $0 += 1 }
        return response
    }

    func serverStream(request: StreamRequest, response: RPCWriter<EchoResponse>, context: ServerContext) async throws {
        try await self.echo.serverStream(request: request, response: response, context: context)
    }

    func clientStream(request: RPCAsyncSequence<EchoRequest>, context: ServerContext) async throws -> EchoResponse {
        try await self.echo.clientStream(request: request, context: context)
    }

    func bidiStream(
        request: RPCAsyncSequence<EchoRequest>, response: RPCWriter<EchoResponse>, context: ServerContext
    ) async throws {
        try await self.echo.bidiStream(request: request, response: response, context: context)
    }

    func sleep(request: SleepRequest, context: ServerContext) async throws -> EchoResponse {
        try await self.echo.sleep(request: request, context: context)
    }

    func fail(request: FailRequest, context: ServerContext) async throws -> EchoResponse {
        try await self.echo.fail(request: request, context: context)
    }
}
