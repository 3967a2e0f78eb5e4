import CaravanCore
import CaravanServiceKit
import Foundation
import Histogram

/// The outcome of a load run: throughput, latency percentiles, status codes,
/// overall and per step.
///
/// The top-level JSON fields are those of the first single-method reports
/// (baselines for `--compare` read them); `scenario` and `methods` were added
/// for scenarios, so an older report decodes with them absent.
public struct LoadReport: Codable, Sendable {
    /// The method path, or `scenario NAME` for a scenario.
    public var method: String
    /// The scenario's name; absent for a single-method run.
    public var scenario: String?
    public var address: String
    /// "closed" (a fixed number of calls in flight) or "open" (calls on a schedule).
    public var model: String
    /// The intended rate at the end of the schedule (open loop).
    public var targetRPS: Double?
    /// Calls made during the warm-up, not counted.
    public var warmupCalls: Int
    public var concurrency: Int
    public var connections: Int
    public var calls: Int
    public var errors: Int
    public var durationSeconds: Double
    public var qps: Double
    public var p50Us: Double
    public var p75Us: Double
    public var p90Us: Double
    public var p95Us: Double
    public var p99Us: Double
    public var p999Us: Double
    public var maxUs: Double
    public var meanUs: Double
    /// Calls per status name (OK, UNAVAILABLE, …).
    public var statusCodes: [String: Int]
    /// The most frequent error messages, most frequent first.
    public var topErrors: [ErrorCount]
    /// One section per step (for a single method, one alike the whole).
    public var methods: [MethodReport]?
    /// Throughput, latency and status codes over the run; absent in reports
    /// written before it was recorded.
    public var timeline: LoadTimeline?
    /// The latency distribution, ten buckets per decade; absent in older reports.
    public var latencyHistogram: [LatencyBucket]?

    public struct ErrorCount: Codable, Sendable {
        public var message: String
        public var count: Int
    }

    enum CodingKeys: String, CodingKey {
        case method, scenario, methods, address, model, concurrency, connections, calls, errors, qps
        case targetRPS = "target_rps", warmupCalls = "warmup_calls"
        case durationSeconds = "duration_s"
        case p50Us = "p50_us", p75Us = "p75_us", p90Us = "p90_us", p95Us = "p95_us"
        case p99Us = "p99_us", p999Us = "p999_us", maxUs = "max_us", meanUs = "mean_us"
        case statusCodes = "status_codes", topErrors = "top_errors"
        case timeline, latencyHistogram = "latency_histogram"
    }

    init(plan: LoadPlan, tally: RunTally, elapsed: Duration) {
        let total = tally.total
        let overall = MethodReport(
            name: plan.scenario ?? plan.method.descriptor.method, method: plan.scenario.map { "scenario \($0)" } ?? plan.method.descriptor.path,
            weight: plan.steps.map(\.weight).reduce(0, +), tally: total, elapsed: elapsed)
        self.method = overall.method
        self.scenario = plan.scenario
        self.address = plan.endpoint.description
        self.model = plan.rate == nil ? "closed" : "open"
        self.targetRPS = plan.rate?.to
        self.warmupCalls = overall.warmupCalls
        self.concurrency = plan.concurrency
        self.connections = plan.connections
        self.calls = overall.calls
        self.errors = overall.errors
        self.durationSeconds = elapsed.totalSeconds
        self.qps = overall.qps
        self.p50Us = overall.p50Us
        self.p75Us = overall.p75Us
        self.p90Us = overall.p90Us
        self.p95Us = overall.p95Us
        self.p99Us = overall.p99Us
        self.p999Us = overall.p999Us
        self.maxUs = overall.maxUs
        self.meanUs = overall.meanUs
        self.statusCodes = overall.statusCodes
        self.topErrors = overall.topErrors
        self.methods = zip(plan.steps, tally.steps).map { step, tally in
            MethodReport(name: step.name, method: step.method.descriptor.path, weight: step.weight, tally: tally, elapsed: elapsed)
        }
        self.timeline = LoadTimeline(tally.timeline, elapsed: elapsed)
        self.latencyHistogram = LatencyBucket.buckets(total.latencies)
    }

    public func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    public func text() -> String {
        var lines = [
            self.scenario.map { "Scenario:     \($0) at \(self.address)" } ?? "Method:       \(self.method) at \(self.address)",
            self.model == "open"
                ? "Load:         open loop at \(String(format: "%.0f", self.targetRPS ?? 0)) calls/s (latency from intended start), at most \(self.concurrency) in flight, connections \(self.connections)"
                : "Load:         closed loop, concurrency \(self.concurrency), connections \(self.connections)",
            "Calls:        \(self.calls) in \(String(format: "%.2f", self.durationSeconds)) s, \(self.errors) errors",
            "Throughput:   \(String(format: "%.0f", self.qps)) calls/s",
            "Latency (µs): p50 \(Self.format(self.p50Us))  p75 \(Self.format(self.p75Us))  p90 \(Self.format(self.p90Us))  p95 \(Self.format(self.p95Us))",
            "              p99 \(Self.format(self.p99Us))  p99.9 \(Self.format(self.p999Us))  max \(Self.format(self.maxUs))  mean \(Self.format(self.meanUs))",
            "Status codes: " + Self.codes(self.statusCodes),
        ]
        for error in self.topErrors {
            lines.append("  \(error.count) × \(error.message)")
        }
        if self.scenario != nil, let methods = self.methods {
            lines.append("")
            lines.append("Per method (latency in µs):")
            lines += MethodReport.table(methods, totalCalls: self.calls)
        }
        return lines.joined(separator: "\n")
    }

    static func codes(_ codes: [String: Int]) -> String {
        codes.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
    }

    /// A header and one row for the run; in a scenario, then a row per step
    /// (its name in the method column).
    public func csv() -> String {
        let header = "method,address,concurrency,connections,calls,errors,duration_s,qps,p50_us,p75_us,p90_us,p95_us,p99_us,p999_us,max_us,mean_us"
        func row(_ method: String, _ calls: Int, _ errors: Int, _ qps: Double, _ latencies: [Double]) -> String {
            ([
                method, self.address, "\(self.concurrency)", "\(self.connections)", "\(calls)", "\(errors)",
                String(format: "%.3f", self.durationSeconds), String(format: "%.1f", qps),
            ] + latencies.map(Self.format)).joined(separator: ",")
        }
        var rows = [
            header,
            row(
                self.method, self.calls, self.errors, self.qps,
                [self.p50Us, self.p75Us, self.p90Us, self.p95Us, self.p99Us, self.p999Us, self.maxUs, self.meanUs]),
        ]
        if self.scenario != nil {
            for method in self.methods ?? [] {
                rows.append(row(method.name, method.calls, method.errors, method.qps, method.latencies))
            }
        }
        return rows.joined(separator: "\n")
    }

    static func format(_ value: Double) -> String { String(format: "%.1f", value) }
}
