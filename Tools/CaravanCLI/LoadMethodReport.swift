import CaravanCore
import Foundation
import Histogram

/// One step's (method's) share of a load run.
public struct MethodReport: Codable, Sendable {
    /// The step's name (the method's name unless the scenario names it).
    public var name: String
    /// `/package.Service/Method`.
    public var method: String
    public var weight: Int
    public var warmupCalls: Int
    public var calls: Int
    public var errors: Int
    public var qps: Double
    public var p50Us: Double
    public var p75Us: Double
    public var p90Us: Double
    public var p95Us: Double
    public var p99Us: Double
    public var p999Us: Double
    public var maxUs: Double
    public var meanUs: Double
    public var statusCodes: [String: Int]
    public var topErrors: [LoadReport.ErrorCount]

    enum CodingKeys: String, CodingKey {
        case name, method, weight, calls, errors, qps
        case warmupCalls = "warmup_calls"
        case p50Us = "p50_us", p75Us = "p75_us", p90Us = "p90_us", p95Us = "p95_us"
        case p99Us = "p99_us", p999Us = "p999_us", maxUs = "max_us", meanUs = "mean_us"
        case statusCodes = "status_codes", topErrors = "top_errors"
    }

    init(name: String, method: String, weight: Int, tally: WorkerTally, elapsed: Duration) {
        let histogram = tally.latencies
        func micros(_ percentile: Double) -> Double {
            histogram.totalCount == 0 ? 0 : Double(histogram.valueAtPercentile(percentile)) / 1000
        }
        self.name = name
        self.method = method
        self.weight = weight
        self.warmupCalls = tally.warmupCalls
        self.calls = Int(histogram.totalCount)
        self.errors = tally.codes.filter { $0.key != 0 }.values.reduce(0, +)
        let seconds = elapsed.totalSeconds
        self.qps = seconds > 0 ? Double(self.calls) / seconds : 0
        self.p50Us = micros(50)
        self.p75Us = micros(75)
        self.p90Us = micros(90)
        self.p95Us = micros(95)
        self.p99Us = micros(99)
        self.p999Us = micros(99.9)
        self.maxUs = histogram.totalCount == 0 ? 0 : Double(histogram.max) / 1000
        self.meanUs = histogram.totalCount == 0 ? 0 : histogram.mean / 1000
        self.statusCodes = StatusNames.named(tally.codes)
        self.topErrors = tally.errorMessages.sorted { $0.value > $1.value }.prefix(10).map {
            LoadReport.ErrorCount(message: $0.key, count: $0.value)
        }
    }

    /// p50, p75, p90, p95, p99, p99.9, max, mean.
    var latencies: [Double] {
        [self.p50Us, self.p75Us, self.p90Us, self.p95Us, self.p99Us, self.p999Us, self.maxUs, self.meanUs]
    }

    /// The per-method section of the text report: a row each, then the
    /// status codes and top errors of those that failed.
    static func table(_ methods: [MethodReport], totalCalls: Int) -> [String] {
        let width = max(6, methods.map(\.name.count).max() ?? 0)
        func pad(_ text: String, _ count: Int, left: Bool = false) -> String {
            let padding = String(repeating: " ", count: max(0, count - text.count))
            return left ? text + padding : padding + text
        }
        let columns = ["calls", "share", "calls/s", "p50", "p75", "p90", "p95", "p99", "p99.9", "max", "errors"]
        var lines = ["  " + pad("method", width, left: true) + columns.map { pad($0, 9) }.joined()]
        for method in methods {
            let share = totalCalls == 0 ? 0 : Double(method.calls) / Double(totalCalls) * 100
            let cells =
                ["\(method.calls)", String(format: "%.1f%%", share), String(format: "%.0f", method.qps)]
                + method.latencies.prefix(7).map { String(format: "%.0f", $0) } + ["\(method.errors)"]
            lines.append("  " + pad(method.name, width, left: true) + cells.map { pad($0, 9) }.joined())
        }
        for method in methods where method.errors > 0 {
            lines.append("  \(method.name): " + LoadReport.codes(method.statusCodes))
            for error in method.topErrors.prefix(5) { lines.append("    \(error.count) × \(error.message)") }
        }
        return lines
    }
}
