import ArgumentParser
import Atomics
import CaravanCore
import CaravanServiceKit
import Foundation

/// `caravan load`: closed- or open-loop load against one server, one method or a scenario.
struct LoadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load",
        abstract: "Drive load at a server and report throughput and latency percentiles.",
        discussion: """
            Closed loop by default: each of --concurrency workers sends its next call when its last one \
            finished. With --rps (or --rps-ramp) the load is an open loop: calls start on schedule whether \
            or not earlier ones have answered, and latency is measured from the intended start, so a \
            stalled server shows as latency rather than as fewer requests. --data may hold placeholders: \
            {{n}} {{worker}} {{uuid}} {{now}} {{now_ms}} {{pick a|b}} {{rand LO HI}}. Ctrl-C stops the run \
            and still writes the report. --scenario runs a weighted mix of a service's calls instead of one \
            method: a built-in one (--list-scenarios) or a JSON file (docs/LOAD-TESTING.md), reported per method.
            """
    )

    @Argument(help: "Server address, host:port.")
    var address: String?

    @Option(name: .long, help: "The method to call.")
    var call: String?

    @Option(name: .long, help: "Run a scenario: a built-in name (see --list-scenarios) or a scenario file.")
    var scenario: String?

    @Option(name: .long, help: "Run the scenario in this JSON file.")
    var scenarioFile: String?

    @Flag(name: .long, help: "List the built-in scenarios and exit.")
    var listScenarios = false

    @Option(name: [.short, .long], help: "The request as JSON (a template: see below).")
    var data: String?

    @Option(name: .long, help: "Read the request (template) from this file.")
    var dataFile: String?

    @Option(name: .long, help: "Open loop: start this many calls per second.")
    var rps: Double?

    @Option(name: .long, help: "Open loop ramping FROM:TO:OVER calls per second, e.g. 100:5000:30s.")
    var rpsRamp: String?

    @Option(name: .long, help: "Run this long first without counting (e.g. 2s).")
    var warmup: String?

    @Flag(name: .long, help: "Give every call its own idempotency key (for writes).")
    var idempotencyKeys = false

    @Option(
        name: .long,
        help:
            "Send a keyed call that failed UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, … again, same key and bytes, up to N times."
    )
    var retries: Int = 0

    @Option(name: .long, help: "The pause before the first retry (doubling after it), e.g. 250ms.")
    var retryPause: String?

    @Option(
        name: .long,
        help: "Write every call attempt (times, status, request, response) to this file, a JSON object a line.")
    var history: String?

    @Option(name: .long, help: "Compare with a JSON report from an earlier run; exit 3 past --threshold.")
    var compare: String?

    @Option(name: .long, help: "Allowed regression for --compare, in percent.")
    var threshold: Double = 10

    @Option(name: [.short, .long], help: "Calls in flight at once (closed loop); the most in flight (open loop).")
    var concurrency: Int = 1

    @Option(name: .long, help: "Connections the calls share.")
    var connections: Int = 1

    @Option(name: .long, help: "Run this long (e.g. 10s); default 10s unless -n is given.")
    var duration: String?

    @Option(name: .customShort("n"), help: "Stop after this many calls.")
    var count: Int?

    @Option(name: .long, help: "Per-call timeout (e.g. 2s).")
    var timeout: String?

    @Option(name: [.customShort("H"), .long], help: "Request metadata, 'key: value' (repeatable).")
    var header: [String] = []

    @Option(
        name: .long,
        help: "Report format: text, json, csv or html (a page of charts; with --compare, the baseline's beside).")
    var format: String = "text"

    @Option(name: [.short, .long], help: "Write the report to this file instead of standard output.")
    var output: String?

    func validate() throws {
        if self.listScenarios { return }
        guard self.address != nil else { throw ValidationError("Missing the server address (host:port).") }
        let sources = [self.call, self.scenario, self.scenarioFile].compactMap { $0 }
        guard sources.count == 1 else {
            throw ValidationError("Give one of --call METHOD, --scenario NAME or --scenario-file PATH.")
        }
        if self.call == nil && (self.data != nil || self.dataFile != nil) {
            throw ValidationError("--data and --data-file go with --call; a scenario has its own data.")
        }
        guard self.concurrency >= 1 else { throw ValidationError("--concurrency must be at least 1.") }
        guard self.connections >= 1 else { throw ValidationError("--connections must be at least 1.") }
        if let count = self.count, count < 1 { throw ValidationError("-n must be at least 1.") }
        guard ["text", "json", "csv", "html"].contains(self.format) else {
            throw ValidationError("--format must be text, json, csv or html.")
        }
        if let rps = self.rps, !(rps > 0) { throw ValidationError("--rps must be positive.") }
        if self.rps != nil && self.rpsRamp != nil { throw ValidationError("Give --rps or --rps-ramp, not both.") }
        if self.data != nil && self.dataFile != nil { throw ValidationError("Give --data or --data-file, not both.") }
        guard (0...100).contains(self.retries) else { throw ValidationError("--retries must be 0...100.") }
        if let text = self.retryPause, !((parseDuration(text) ?? .zero) > .zero) {
            throw ValidationError("Bad --retry-pause '\(text)'.")
        }
    }

    func run() async throws {
        if self.listScenarios {
            print(try BuiltInScenarios.listing())
            return
        }
        let address = self.address ?? ""
        guard let endpoint = Endpoint(address) else {
            throw ValidationError("'\(address)' is not an address of the form host:port.")
        }
        let options = try CommonOptions.callOptions(headers: self.header, idempotencyKey: nil)
        let timeout = try CommonOptions.timeout(self.timeout)
        let (stop, rate, warmup) = try self.schedule()
        let baseline = try self.baseline()
        let concurrency = rate == nil ? self.concurrency : max(self.concurrency, 10_000)
        var plan: LoadPlan
        if let call = self.call {
            plan = LoadPlan(
                endpoint: endpoint, method: try Self.method(call), request: try self.request(for: call),
                concurrency: concurrency, connections: self.connections, stop: stop, rate: rate, warmup: warmup,
                timeout: timeout, metadata: options.metadata, idempotencyKeys: self.idempotencyKeys)
        } else {
            plan = LoadPlan(
                endpoint: endpoint, scenario: try self.loadScenario(), concurrency: concurrency,
                connections: self.connections, stop: stop, rate: rate, warmup: warmup, timeout: timeout,
                metadata: options.metadata, idempotencyKeys: self.idempotencyKeys)
        }
        plan.retries = self.retries
        if let text = self.retryPause, let pause = parseDuration(text) { plan.retryPause = pause }
        try await self.execute(plan, baseline: baseline)
    }

    static func method(_ name: String) throws -> MethodSchema {
        guard let method = SchemaRegistry.method(named: name) else {
            throw ValidationError("Unknown method '\(name)'.")
        }
        return method
    }

    /// The scenario of --scenario (a built-in name or a file) or --scenario-file.
    func loadScenario() throws -> LoadScenario {
        let path: String
        if let name = self.scenario {
            if let builtIn = try BuiltInScenarios.named(name) { return builtIn }
            guard FileManager.default.fileExists(atPath: name) else {
                throw ValidationError(
                    "No built-in scenario '\(name)' (built in: \(BuiltInScenarios.names.joined(separator: ", "))) and no file of that name."
                )
            }
            path = name
        } else {
            path = self.scenarioFile ?? ""
        }
        guard let contents = FileManager.default.contents(atPath: path) else {
            throw ValidationError("Cannot read the scenario file \(path).")
        }
        do {
            return try LoadScenario(json: contents)
        } catch {
            throw ValidationError("\(path): \(error.description)")
        }
    }

    /// The request of --call, from --data or --data-file.
    func request(for call: String) throws -> LoadPlan.Request {
        let method = try Self.method(call)
        let text: String
        if let file = self.dataFile {
            guard let contents = FileManager.default.contents(atPath: file) else {
                throw ValidationError("Cannot read --data-file \(file).")
            }
            text = String(decoding: contents, as: UTF8.self)
        } else {
            text = self.data ?? "{}"
        }
        let template: RequestTemplate
        do {
            template = try RequestTemplate(text)
        } catch {
            throw ValidationError("\(error)")
        }
        // Check the request now (one rendering), not once per failed call.
        let sample = template.render(number: 0, worker: 0)
        let sampleBytes: [UInt8]
        do {
            sampleBytes = try SchemaRegistry.encodeJSON(Data(sample.utf8), as: method.inputType)
        } catch {
            throw ValidationError("The request is not a valid \(method.inputType.protoMessageName) in JSON: \(error)")
        }
        return template.isConstant ? .fixed(sampleBytes) : .template(template)
    }

    /// When to stop, the open-loop rate (nil: closed loop) and the warm-up.
    func schedule() throws -> (LoadPlan.Stop, RateSchedule?, Duration) {
        let stop: LoadPlan.Stop
        if let text = self.duration {
            guard let duration = parseDuration(text), duration > .zero else {
                throw ValidationError("Bad --duration '\(text)'.")
            }
            stop = .duration(duration)
        } else if let count = self.count {
            stop = .count(count)
        } else {
            stop = .duration(.seconds(10))
        }
        var rate: RateSchedule?
        if let rps = self.rps { rate = .constant(rps) }
        if let ramp = self.rpsRamp {
            guard let schedule = RateSchedule(ramp: ramp) else {
                throw ValidationError("--rps-ramp must be FROM:TO:OVER, e.g. 100:5000:30s.")
            }
            rate = schedule
        }
        var warmup = Duration.zero
        if let text = self.warmup {
            guard let value = parseDuration(text) else { throw ValidationError("Bad --warmup '\(text)'.") }
            warmup = value
        }
        return (stop, rate, warmup)
    }

    /// The --compare baseline.
    func baseline() throws -> LoadReport? {
        try self.compare.map { path in
            guard let data = FileManager.default.contents(atPath: path) else {
                throw ValidationError("Cannot read the baseline \(path).")
            }
            do {
                return try JSONDecoder().decode(LoadReport.self, from: data)
            } catch {
                throw ValidationError("\(path) is not a caravan load JSON report: \(error)")
            }
        }
    }

    /// Runs the plan, writes the report and applies --compare.
    func execute(_ plan: LoadPlan, baseline: LoadReport?) async throws {
        let interrupted = ManagedAtomic(false)
        let signals = InterruptHandler { interrupted.store(true, ordering: .relaxed) }
        defer { signals.cancel() }
        let showProgress = isatty(STDERR_FILENO) == 1
        var progress: (@Sendable (Int, Duration) -> Void)?
        if showProgress {
            progress = { finished, elapsed in
                let seconds = elapsed.totalSeconds
                let rate = Double(finished) / max(seconds, 0.001)
                let line = String(format: "\r%.0f s: %d calls, %.0f calls/s   ", seconds, finished, rate)
                StandardStream.error.write(line)
            }
        }
        let history: CallHistory?
        do {
            history = try self.history.map { try CallHistory(path: $0) }
        } catch {
            throw ValidationError("Cannot write the history file \(self.history ?? ""): \(error.localizedDescription)")
        }
        let report: LoadReport
        do {
            report = try await LoadGenerator.run(plan, stop: interrupted, history: history, progress: progress)
        } catch {
            history?.close()
            throw error
        }
        if let failure = history?.close() {
            throw ValidationError("Writing the history file \(self.history ?? "") failed: \(failure)")
        }
        if showProgress { StandardStream.error.write("\r\u{1B}[K") }
        let comparison = baseline.map { LoadComparison(baseline: $0, current: report, threshold: self.threshold / 100) }
        let rendered: String
        switch self.format {
        case "json": rendered = try report.json()
        case "csv": rendered = report.csv()
        case "html": rendered = try LoadReportPage.html(report: report, baseline: baseline, comparison: comparison)
        default: rendered = report.text()
        }
        if let output = self.output {
            try (rendered + "\n").write(toFile: output, atomically: true, encoding: .utf8)
        } else {
            print(rendered)
        }
        if let comparison {
            Output.printError(comparison.text)
            if !comparison.regressions.isEmpty { throw ExitCode(3) }
        }
    }
}
