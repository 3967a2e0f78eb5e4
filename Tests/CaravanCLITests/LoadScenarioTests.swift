import CaravanCLI
import CaravanCore
import CaravanServiceKit
import CaravanTestSupport
import Foundation
import Testing

@Suite("Load scenarios: the file format")
struct LoadScenarioParsingTests {
    static let echo = "caravan.echo.v1.Echo"

    @Test("A scenario file parses into steps with defaults, JSON-named capture paths and per-step settings")
    func parses() throws {
        let scenario = try LoadScenario(
            json: Data(
                #"""
                {
                  "name": "echo-mix",
                  "description": "Echo calls",
                  "service": "caravan.echo.v1.Echo",
                  "steps": [
                    { "method": "Unary", "weight": 3, "data": { "text": "call {{n}}" }, "capture": { "said": "text" } },
                    { "name": "sleepy", "method": "caravan.echo.v1.Echo/Sleep", "data": "{\"millis\": {{rand 0 2}}}",
                      "timeout": "2s", "metadata": { "X-Tenant": "load" }, "idempotency_keys": true },
                    { "name": "repeat", "method": "Unary", "data": { "text": "{{take said}}" } }
                  ]
                }
                """#.utf8))
        #expect(scenario.name == "echo-mix")
        #expect(scenario.service == Self.echo)
        #expect(scenario.steps.map(\.name) == ["Unary", "sleepy", "repeat"])
        #expect(scenario.steps.map(\.weight) == [3, 1, 1])
        #expect(scenario.steps[0].captures.map(\.pool) == ["said"])
        #expect(scenario.steps[0].captures.map(\.path) == [["text"]])
        #expect(scenario.steps[1].method.descriptor.path == "/caravan.echo.v1.Echo/Sleep")
        #expect(scenario.steps[1].timeout == .seconds(2))
        #expect(scenario.steps[1].metadata.firstString("x-tenant") == "load")
        #expect(scenario.steps[1].idempotencyKeys)
        #expect(!scenario.steps[0].idempotencyKeys)
        #expect(scenario.steps[2].template.poolReads.map(\.pool) == ["said"])
        #expect(scenario.steps[2].template.poolReads.map(\.consumes) == [true])
        #expect(scenario.steps[0].template.render(number: 7, worker: 0) == #"{"text":"call 7"}"#)
    }

    /// A scenario whose one step is `step` (JSON object text).
    static func withStep(_ step: String) -> String {
        #"{"name": "bad", "service": "caravan.echo.v1.Echo", "steps": [\#(step)]}"#
    }

    @Test(
        "Bad scenarios are refused with a message saying what is wrong",
        arguments: [
            (
                #"{"name": "x", "service": "caravan.echo.v1.Echo", "steps": [ {"method": "Unary",, } ]}"#,
                "not valid JSON"
            ),
            ("[1, 2]", "is a JSON object"),
            (#"{"service": "caravan.echo.v1.Echo", "steps": [{"method": "Unary"}]}"#, "'name' is required"),
            (#"{"name": "x", "service": "caravan.nope.v1.Nope", "steps": [{"method": "Unary"}]}"#, "unknown service"),
            (#"{"name": "x", "service": "caravan.echo.v1.Echo", "steps": []}"#, "non-empty array"),
            (
                #"{"name": "x", "service": "caravan.echo.v1.Echo", "steps": [{"method": "Unary"}], "extra": 1}"#,
                "unknown key 'extra'"
            ),
            (withStep(#"{"method": "Shout"}"#), "unknown method 'Shout'"),
            (withStep(#"{"method": "caravan.trade.v1.TradeService/Nope"}"#), "unknown method"),
            (withStep(#"{"method": "Unary", "weight": 0}"#), "weight must be a positive whole number"),
            (withStep(#"{"method": "Unary", "weight": -2}"#), "weight must be a positive whole number"),
            (withStep(#"{"method": "Unary", "weight": 1.5}"#), "weight must be a positive whole number"),
            (withStep(#"{"method": "Unary", "weight": "3"}"#), "weight must be a positive whole number"),
            (withStep(#"{"method": "Unary", "wieght": 3}"#), "unknown key 'wieght'"),
            (
                withStep(#"{"method": "Unary", "data": {"txet": "typo"}}"#),
                "fields caravan.echo.v1.EchoRequest does not have: txet"
            ),
            (withStep(#"{"method": "Unary", "data": {"text": "{{nope}}"}}"#), "Unknown placeholder"),
            (withStep(#"{"method": "Sleep", "data": {"millis": "soon"}}"#), "not a valid caravan.echo.v1.SleepRequest"),
            (withStep(#"{"method": "Unary", "data": "{not json"}"#), "does not render to JSON"),
            (withStep(#"{"method": "Unary", "data": 5}"#), "data must be a JSON object or a string"),
            (withStep(#"{"method": "Unary", "timeout": "soon"}"#), "timeout 'soon'"),
            (withStep(#"{"method": "Unary", "idempotency_keys": 1}"#), "must be true or false"),
            (withStep(#"{"method": "Unary", "metadata": {"bad key": "v"}}"#), "metadata key 'bad key'"),
            (withStep(#"{"method": "Unary", "capture": {"said": "txet"}}"#), "has no field 'txet'"),
            (withStep(#"{"method": "ClientStream"}"#), "client-streaming"),
            (withStep(#"{"method": "Unary", "data": {"text": "{{use never}}"}}"#), "no step captures"),
            (withStep(#"{"method": "Unary"}, {"method": "Unary"}"#), "already named 'Unary'"),
            (
                withStep(
                    #"{"method": "Unary", "data": {"text": "{{use b}}"}, "capture": {"a": "text"}}, {"name": "two", "method": "Unary", "data": {"text": "{{use a}}"}, "capture": {"b": "text"}}"#
                ),
                "none can run first"
            ),
        ])
    func refused(json: String, message: String) {
        do {
            _ = try LoadScenario(json: Data(json.utf8))
            Issue.record("accepted: \(json)")
        } catch {
            #expect(error.description.contains(message), "\(error.description)")
        }
    }

    @Test("A JSON syntax error is reported with its line and column")
    func syntaxErrorPosition() {
        let json = "{\n  \"name\": \"x\",\n  \"steps\": [,]\n}"
        #expect(throws: ScenarioError.self) { _ = try LoadScenario(json: Data(json.utf8)) }
        do {
            _ = try LoadScenario(json: Data(json.utf8))
        } catch {
            #expect(error.description.contains("line 3"), "\(error.description)")
        }
    }
}

@Suite("Weighted round-robin")
struct WeightedRoundRobinTests {
    @Test("Picks in exact proportion over every full cycle, spread out rather than bunched")
    func exactProportions() {
        var order = WeightedRoundRobin(weights: [5, 1, 1])
        // nginx's smooth weighted round-robin: a a b a c a a.
        #expect((0..<7).map { _ in order.next() } == [0, 0, 1, 0, 2, 0, 0])
        var counts = [0, 0, 0]
        for _ in 0..<(7 * 100) { counts[order.next()] += 1 }
        #expect(counts == [500, 100, 100])
    }

    @Test("Uneven weights: exact counts over N picks and no choice waits longer than its share implies")
    func unevenWeights() {
        let weights = [4, 2, 3, 1, 2]  // the trade scenario's shape: 12 per cycle
        var order = WeightedRoundRobin(weights: weights)
        var counts = Array(repeating: 0, count: weights.count)
        var lastSeen = Array(repeating: -1, count: weights.count)
        var longestGap = Array(repeating: 0, count: weights.count)
        for pick in 0..<(12 * 250) {
            let choice = order.next()
            counts[choice] += 1
            longestGap[choice] = max(longestGap[choice], pick - lastSeen[choice])
            lastSeen[choice] = pick
        }
        #expect(counts == weights.map { $0 * 250 })
        for (index, weight) in weights.enumerated() {
            // Picked at least once every 12 / weight picks, rounded up, plus one.
            #expect(longestGap[index] <= (12 + weight - 1) / weight + 1, "choice \(index): gap \(longestGap[index])")
        }
    }

    @Test("Ineligible choices are skipped; the rest keep their proportions")
    func skipsIneligible() {
        var order = WeightedRoundRobin(weights: [2, 1, 1])
        var counts = [0, 0, 0]
        for _ in 0..<300 { counts[order.next { $0 != 1 }!] += 1 }
        #expect(counts == [200, 0, 100])
        #expect(order.next { _ in false } == nil)
    }
}

@Suite("Built-in scenarios")
struct BuiltInScenarioTests {
    @Test("Every built-in scenario parses, and names methods its service (or, for the gateway, a routed service) has")
    func builtInsParse() throws {
        let scenarios = try BuiltInScenarios.all()
        #expect(scenarios.map(\.name) == ["trade", "logistics", "training", "gateway"])
        let routed = [
            "caravan.trade.v1.TradeService", "caravan.logistics.v1.LogisticsService",
            "caravan.training.v1.TrainingService",
        ]
        for scenario in scenarios {
            let service = try #require(SchemaRegistry.services.first { $0.name == scenario.service })
            #expect(!scenario.description.isEmpty)
            #expect(scenario.steps.count >= 3, "\(scenario.name) mixes several calls")
            for step in scenario.steps {
                let path = step.method.descriptor.path
                #expect(SchemaRegistry.method(named: path) != nil)
                let inService = service.methods.contains { $0.descriptor.path == path }
                let isRouted = scenario.name == "gateway" && routed.contains(step.method.descriptor.service)
                #expect(inService || isRouted, "\(scenario.name): \(path)")
                #expect(step.weight >= 1)
            }
        }
    }

    @Test("Writes in the service scenarios carry idempotency keys")
    func writesAreIdempotent() throws {
        let writes: Set<String> = [
            "RecordFlow", "RecordStreamSession", "BookShipment", "RecordShipmentEvent", "RegisterTrainee", "Enrol",
            "Withdraw",
        ]
        for scenario in try BuiltInScenarios.all() {
            for step in scenario.steps where writes.contains(step.method.descriptor.method) {
                #expect(step.idempotencyKeys, "\(scenario.name): \(step.name)")
            }
        }
    }
}

@Suite("Scenario runs against a real server", .serialized, .timeLimit(.minutes(2)))
struct ScenarioRunTests {
    static let scenario = #"""
        {
          "name": "echo-mix",
          "description": "Three kinds of echo call, one fed by another's answers",
          "service": "caravan.echo.v1.Echo",
          "steps": [
            { "name": "say", "method": "Unary", "weight": 4, "data": { "text": "word-{{n}}" }, "capture": { "said": "text" } },
            { "name": "repeat", "method": "Unary", "weight": 2, "data": { "text": "again {{take said}}" } },
            { "name": "stream", "method": "ServerStream", "weight": 1, "data": { "count": 3 } },
            { "name": "fail", "method": "Fail", "weight": 1, "data": { "code": 9, "message": "planned" } }
          ]
        }
        """#

    /// Runs the echo scenario for `calls` calls, `concurrency` at a time.
    func run(calls: Int, concurrency: Int) async throws -> LoadReport {
        let scenario = try LoadScenario(json: Data(Self.scenario.utf8))
        return try await withEchoServer { endpoint in
            try await LoadGenerator.run(
                LoadPlan(
                    endpoint: endpoint, scenario: scenario, concurrency: concurrency, connections: 1,
                    stop: .count(calls)))
        }
    }

    @Test("A scenario run reports each step apart, in exact proportion, with its status codes and errors")
    func perMethodSections() async throws {
        // One worker: every "repeat" finds the value the "say" before it captured.
        let report = try await self.run(calls: 800, concurrency: 1)
        #expect(report.calls == 800)
        #expect(report.scenario == "echo-mix")
        let methods = try #require(report.methods)
        #expect(methods.map(\.name) == ["say", "repeat", "stream", "fail"])
        #expect(methods.map(\.calls) == [400, 200, 100, 100])
        #expect(methods.map(\.errors) == [0, 0, 0, 100])
        #expect(methods[3].statusCodes == ["FAILED_PRECONDITION": 100])
        #expect(methods[3].topErrors.first?.message.contains("planned") == true)
        #expect(report.errors == 100)
        #expect(report.statusCodes == ["OK": 700, "FAILED_PRECONDITION": 100])
        for method in methods {
            #expect(method.p50Us > 0 && method.p50Us <= method.p99Us && method.p99Us <= method.maxUs)
        }

        let json = try jsonObject(try report.json())
        #expect(json["scenario"] as? String == "echo-mix")
        let sections = try #require(json["methods"] as? [[String: Any]])
        for key in [
            "name", "method", "weight", "calls", "errors", "qps", "p50_us", "p75_us", "p90_us", "p95_us", "p99_us",
            "p999_us", "max_us", "status_codes", "top_errors",
        ] {
            #expect(sections.allSatisfy { $0[key] != nil }, "\(key) is in every method section")
        }
        #expect(sections[2]["method"] as? String == "/caravan.echo.v1.Echo/ServerStream")

        let text = report.text()
        #expect(text.contains("Scenario:     echo-mix"))
        #expect(text.contains("Per method"))
        #expect(text.contains("fail: FAILED_PRECONDITION 100"))
        let csv = report.csv().split(separator: "\n")
        #expect(csv.count == 6, "a header, the whole run, a row per step")
        #expect(csv[1].hasPrefix("scenario echo-mix,"))
        #expect(csv[5].hasPrefix("fail,"))
    }

    @Test("A step's own timeout overrides the run's")
    func stepTimeout() async throws {
        let scenario = try LoadScenario(
            json: Data(
                #"""
                {
                  "name": "timeouts",
                  "service": "caravan.echo.v1.Echo",
                  "steps": [
                    { "name": "impatient", "method": "Sleep", "data": { "millis": 2000 }, "timeout": "50ms" },
                    { "name": "patient", "method": "Sleep", "data": { "millis": 20 } }
                  ]
                }
                """#.utf8))
        let report = try await withEchoServer { endpoint in
            try await LoadGenerator.run(
                LoadPlan(
                    endpoint: endpoint, scenario: scenario, concurrency: 2, connections: 1, stop: .count(8),
                    timeout: .seconds(30)))
        }
        let methods = try #require(report.methods)
        // With the run's 30 s the 2 s sleeps would answer OK; the step's 50 ms cuts them off.
        #expect(methods[0].statusCodes == ["DEADLINE_EXCEEDED": 4])
        #expect(methods[1].statusCodes == ["OK": 4])
    }

    @Test("A baseline without per-method sections still decodes, and a scenario compares method by method")
    func comparisonPerMethod() async throws {
        let report = try await self.run(calls: 200, concurrency: 2)
        var slower = report
        slower.methods?[1].p99Us *= 3
        let rows = LoadComparison(baseline: report, current: slower, threshold: 0.10).regressions.map(\.metric)
        #expect(rows == ["repeat p99_us"])

        var old = try jsonObject(try report.json())
        old["methods"] = nil
        old["scenario"] = nil
        let decoded = try JSONDecoder().decode(LoadReport.self, from: JSONSerialization.data(withJSONObject: old))
        #expect(decoded.methods == nil)
        #expect(decoded.calls == report.calls)
    }
}
