import CaravanCore
import CaravanServiceKit
import Foundation
import Histogram

/// The outcome of a load run: throughput, latency percentiles, status codes.
public struct LoadReport: Codable, Sendable {
    public var method: String
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

    public struct ErrorCount: Codable, Sendable {
        public var message: String
        public var count: Int
    }

    enum CodingKeys: String, CodingKey {
        case method, address, model, concurrency, connections, calls, errors, qps
        case targetRPS = "target_rps", warmupCalls = "warmup_calls"
        case durationSeconds = "duration_s"
        case p50Us = "p50_us", p75Us = "p75_us", p90Us = "p90_us", p95Us = "p95_us"
        case p99Us = "p99_us", p999Us = "p999_us", maxUs = "max_us", meanUs = "mean_us"
        case statusCodes = "status_codes", topErrors = "top_errors"
    }

    init(plan: LoadPlan, tally: WorkerTally, elapsed: Duration) {
        let histogram = tally.latencies
        func micros(_ percentile: Double) -> Double {
            histogram.totalCount == 0 ? 0 : Double(histogram.valueAtPercentile(percentile)) / 1000
        }
        self.method = plan.method.descriptor.path
        self.address = plan.endpoint.description
        self.model = plan.rate == nil ? "closed" : "open"
        self.targetRPS = plan.rate?.to
        self.warmupCalls = tally.warmupCalls
        self.concurrency = plan.concurrency
        self.connections = plan.connections
        self.calls = Int(histogram.totalCount)
        self.errors = tally.codes.filter { $0.key != 0 }.values.reduce(0, +)
        self.durationSeconds = elapsed.secondsDouble
        self.qps = self.durationSeconds > 0 ? Double(self.calls) / self.durationSeconds : 0
        self.p50Us = micros(50)
        self.p75Us = micros(75)
        self.p90Us = micros(90)
        self.p95Us = micros(95)
        self.p99Us = micros(99)
        self.p999Us = micros(99.9)
        self.maxUs = histogram.totalCount == 0 ? 0 : Double(histogram.max) / 1000
        self.meanUs = histogram.totalCount == 0 ? 0 : histogram.mean / 1000
        self.statusCodes = Dictionary(
            tally.codes.map { (StatusCode(rawValue: $0.key)?.name ?? "\($0.key)", $0.value) },
            uniquingKeysWith: +)
        self.topErrors = tally.errorMessages.sorted { $0.value > $1.value }.prefix(10).map {
            ErrorCount(message: $0.key, count: $0.value)
        }
    }

    public func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    public func text() -> String {
        var lines = [
            "Method:       \(self.method) at \(self.address)",
            self.model == "open"
                ? "Load:         open loop at \(String(format: "%.0f", self.targetRPS ?? 0)) calls/s (latency from intended start), at most \(self.concurrency) in flight, connections \(self.connections)"
                : "Load:         closed loop, concurrency \(self.concurrency), connections \(self.connections)",
            "Calls:        \(self.calls) in \(String(format: "%.2f", self.durationSeconds)) s, \(self.errors) errors",
            "Throughput:   \(String(format: "%.0f", self.qps)) calls/s",
            "Latency (µs): p50 \(Self.format(self.p50Us))  p75 \(Self.format(self.p75Us))  p90 \(Self.format(self.p90Us))  p95 \(Self.format(self.p95Us))",
            "              p99 \(Self.format(self.p99Us))  p99.9 \(Self.format(self.p999Us))  max \(Self.format(self.maxUs))  mean \(Self.format(self.meanUs))",
            "Status codes: " + self.statusCodes.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "),
        ]
        for error in self.topErrors {
            lines.append("  \(error.count) × \(error.message)")
        }
        return lines.joined(separator: "\n")
    }

    public func csv() -> String {
        let header = "method,address,concurrency,connections,calls,errors,duration_s,qps,p50_us,p75_us,p90_us,p95_us,p99_us,p999_us,max_us,mean_us"
        let row = [
            self.method, self.address, "\(self.concurrency)", "\(self.connections)", "\(self.calls)", "\(self.errors)",
            String(format: "%.3f", self.durationSeconds), String(format: "%.1f", self.qps),
            Self.format(self.p50Us), Self.format(self.p75Us), Self.format(self.p90Us), Self.format(self.p95Us),
            Self.format(self.p99Us), Self.format(self.p999Us), Self.format(self.maxUs), Self.format(self.meanUs),
        ].joined(separator: ",")
        return header + "\n" + row
    }

    static func format(_ value: Double) -> String { String(format: "%.1f", value) }
}
