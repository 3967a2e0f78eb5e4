import CaravanWebCharts
import Foundation

/// `caravan load --format html`: one self-contained page (inline CSS, script
/// and data, charts drawn as SVG by `CaravanCharts`; nothing loaded from the
/// network) showing the run's JSON report — and, with `--compare`, the
/// baseline's curves and the comparison beside it.
enum LoadReportPage {
    /// The comparison as the page shows it.
    struct ComparisonView: Encodable {
        struct Row: Encodable {
            var metric: String
            var baseline: Double
            var current: Double
            var regressed: Bool
        }
        var threshold: Double
        var rows: [Row]

        init(_ comparison: LoadComparison) {
            let regressed = Set(comparison.regressions.map(\.metric))
            self.threshold = comparison.threshold
            self.rows = comparison.rows.map {
                Row(
                    metric: $0.metric, baseline: $0.baseline, current: $0.current,
                    regressed: regressed.contains($0.metric))
            }
        }
    }

    static let template = String(decoding: PackageResources.load_report_html, as: UTF8.self)
    static let script = String(decoding: PackageResources.load_report_js, as: UTF8.self)

    static func html(report: LoadReport, baseline: LoadReport?, comparison: LoadComparison?) throws -> String {
        let title =
            "caravan load: " + (report.scenario.map { "scenario \($0)" } ?? report.method) + " at \(report.address)"
        return Self.fill(
            Self.template,
            [
                "title": Self.escapeHTML(title),
                "report": try Self.scriptJSON(report),
                "baseline": try baseline.map(Self.scriptJSON) ?? "null",
                "comparison": try comparison.map { try Self.scriptJSON(ComparisonView($0)) } ?? "null",
                "charts.js": Self.scriptText(WebCharts.script),
                "load-report.js": Self.scriptText(Self.script),
            ])
    }

    /// The template with each `{{name}}` replaced by its value, in one pass
    /// (a value is never searched for placeholders itself).
    static func fill(_ template: String, _ values: [String: String]) -> String {
        var result = ""
        var rest = template[...]
        while let open = rest.range(of: "{{"), let close = rest[open.upperBound...].range(of: "}}") {
            result += rest[..<open.lowerBound]
            let name = String(rest[open.upperBound..<close.lowerBound])
            result += values[name] ?? String(rest[open.lowerBound..<close.upperBound])
            rest = rest[close.upperBound...]
        }
        return result + rest
    }

    /// JSON that can sit inside a `<script>` element: a `<` (only ever inside
    /// a string) is written as `\u003c`, so an error message holding
    /// `</script>` cannot end the element.
    static func scriptJSON(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(value), as: UTF8.self).replacingOccurrences(of: "<", with: "\\u003c")
    }

    /// Script text inside `<script>`: `</` would end the element.
    static func scriptText(_ script: String) -> String {
        script.replacingOccurrences(of: "</", with: "<\\/")
    }

    static func escapeHTML(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
