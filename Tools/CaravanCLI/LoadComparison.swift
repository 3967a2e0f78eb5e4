import Foundation

/// The change between a baseline report and this run, for CI gates.
public struct LoadComparison: Sendable {
    public struct Row: Sendable {
        public var metric: String
        public var baseline: Double
        public var current: Double
        /// Positive when the change is for the worse, as a fraction.
        public var regression: Double
    }

    public var rows: [Row]
    public var threshold: Double

    /// Compares throughput (lower is worse) and p50/p90/p99 (higher is worse).
    public init(baseline: LoadReport, current: LoadReport, threshold: Double) {
        func change(_ metric: String, _ old: Double, _ new: Double, higherIsWorse: Bool) -> Row {
            let relative = old == 0 ? 0 : (new - old) / old
            return Row(metric: metric, baseline: old, current: new, regression: higherIsWorse ? relative : -relative)
        }
        self.rows = [
            change("qps", baseline.qps, current.qps, higherIsWorse: false),
            change("p50_us", baseline.p50Us, current.p50Us, higherIsWorse: true),
            change("p90_us", baseline.p90Us, current.p90Us, higherIsWorse: true),
            change("p99_us", baseline.p99Us, current.p99Us, higherIsWorse: true),
            change("error_rate", Self.errorRate(baseline), Self.errorRate(current), higherIsWorse: true),
        ]
        // In a scenario, each method's throughput and p99 too: one slower
        // method can hide in a mix whose overall figures hold.
        if baseline.scenario != nil, current.scenario != nil {
            for method in current.methods ?? [] {
                guard let old = baseline.methods?.first(where: { $0.name == method.name }) else { continue }
                self.rows.append(change("\(method.name) qps", old.qps, method.qps, higherIsWorse: false))
                self.rows.append(change("\(method.name) p99_us", old.p99Us, method.p99Us, higherIsWorse: true))
            }
        }
        self.threshold = threshold
    }

    private static func errorRate(_ report: LoadReport) -> Double {
        report.calls == 0 ? 0 : Double(report.errors) / Double(report.calls)
    }

    /// Metrics worse than the threshold (error rate: any increase past it, absolute).
    public var regressions: [Row] {
        self.rows.filter { row in
            row.metric == "error_rate" ? row.current - row.baseline > self.threshold : row.regression > self.threshold
        }
    }

    public var text: String {
        var lines = ["Compared with the baseline (threshold \(String(format: "%.0f", self.threshold * 100))%):"]
        for row in self.rows {
            let mark = self.regressions.contains { $0.metric == row.metric } ? "  REGRESSION" : ""
            lines.append(
                String(
                    format: "  %-28@ %12.1f → %12.1f  (%+.1f%%)%@", row.metric as NSString, row.baseline, row.current,
                    (row.baseline == 0 ? 0 : (row.current - row.baseline) / row.baseline * 100), mark as NSString))
        }
        return lines.joined(separator: "\n")
    }
}
