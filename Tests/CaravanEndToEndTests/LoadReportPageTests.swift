import CaravanTestSupport
import Foundation
import Testing

/// `caravan load --format html` against a real echo-server, the page opened
/// in headless Chromium and what it shows checked against the run's JSON report.
@Suite("caravan load --format html in a browser", .serialized, .timeLimit(.minutes(5)))
struct LoadReportPageTests {
    /// A scenario with three kinds of call: fast, slower (2 ms) and failing (UNAVAILABLE).
    static let scenario = #"""
        {
          "name": "echo-report",
          "service": "caravan.echo.v1.Echo",
          "steps": [
            { "name": "unary", "method": "Unary", "weight": 6, "data": { "text": "call {{n}}" } },
            { "name": "sleep-2ms", "method": "Sleep", "weight": 2, "data": { "millis": 2 } },
            { "name": "fail", "method": "Fail", "weight": 1, "data": { "code": 14, "message": "report test" } }
          ]
        }
        """#

    /// Equal numbers, but for the last digit or so: the page's JavaScript and Foundation's JSON parser
    /// may read one decimal into neighbouring doubles.
    static func same(_ shown: [Double], _ reported: [Double]) -> Bool {
        shown.count == reported.count && zip(shown, reported).allSatisfy { abs($0 - $1) <= 1e-9 * max(1, abs($1)) }
    }

    /// The JSON the page embeds in `<script type="application/json" id="ID">`.
    static func embedded(_ id: String, in html: String) throws -> Any {
        let opening = #"<script type="application/json" id="\#(id)">"#
        let start = try #require(html.range(of: opening), "no \(id) in the page")
        let end = try #require(html[start.upperBound...].range(of: "</script>"))
        return try JSONSerialization.jsonObject(
            with: Data(html[start.upperBound..<end.lowerBound].utf8), options: .fragmentsAllowed)
    }

    @Test(
        "The page's figures, curves, distribution, status codes and per-method rows equal the report's; a baseline's curves beside"
    )
    func reportPage() async throws {
        guard let chromium = HeadlessBrowser.forTest() else { return }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "caravan-report-\(UUID().uuidString)"
        ).path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Self.scenario.write(toFile: directory + "/scenario.json", atomically: true, encoding: .utf8)
        // Admission control off: the open-loop run would otherwise be refused
        // RESOURCE_EXHAUSTED whenever the machine stalls the server, and the
        // page is checked against a known set of status codes.
        let server = try await ServerProcess("caravan", ["echo-server", "--port", "0", "--admission-control", "off"])

        // An open-loop run of about 2 s gives a timeline of about 20 intervals.
        let run = [
            "load", server.address, "--scenario-file", directory + "/scenario.json", "--rps", "600", "--duration", "2s",
        ]
        let baselineRun = try await runCommand(
            "caravan", run + ["--format", "json", "-o", directory + "/baseline.json"])
        #expect(baselineRun.status == 0, "\(baselineRun.stderr)")
        let page = try await runCommand(
            "caravan",
            run + [
                "--format", "html", "-o", directory + "/report.html", "--compare", directory + "/baseline.json",
                "--threshold", "100000",
            ])
        #expect(page.status == 0, "\(page.stderr)")
        _ = try await server.stop()

        let html = try String(contentsOfFile: directory + "/report.html", encoding: .utf8)
        // Nothing from the network (the SVG namespace is a name, not an address anything is loaded from).
        let addresses = html.replacingOccurrences(of: "http://www.w3.org/2000/svg", with: "")
        #expect(
            !addresses.contains("http://") && !addresses.contains("https://"), "the page loads nothing from the network"
        )
        let report = try #require(try Self.embedded("caravan-report", in: html) as? [String: Any])
        let baselineData = try Data(contentsOf: URL(fileURLWithPath: directory + "/baseline.json"))
        let baseline = try #require(try JSONSerialization.jsonObject(with: baselineData) as? [String: Any])
        let timeline = try #require(report["timeline"] as? [String: Any])
        let samples = try #require(timeline["samples"] as? [[String: Any]])
        #expect(samples.count >= 10, "a 2 s run in 100 ms intervals")
        #expect(samples.reduce(0) { $0 + ($1["calls"] as! Int) } == report["calls"] as! Int)

        let browser = try HeadlessBrowser(executable: chromium)
        defer { browser.close() }
        let tab = try await browser.open("file://" + directory + "/report.html", width: 1280, height: 900)
        try await tab.waitUntil("document.body.dataset.rendered === 'true'")

        // The headline figures.
        for metric in ["calls", "errors", "qps", "p50_us", "p90_us", "p99_us", "p999_us", "max_us"] {
            let shown = try await tab.evaluate(
                "Number(document.querySelector('[data-metric=\"\(metric)\"]').dataset.value)", as: Double.self)
            #expect(Self.same([shown], [(report[metric] as? NSNumber)?.doubleValue ?? .nan]), "\(metric)")
        }
        #expect((report["errors"] as! Int) > 0, "the failing step's calls are errors")

        // Throughput over time: a point per sample, at the sample's rate; the baseline's curve beside it.
        let throughput = try await tab.evaluate(
            "[...document.querySelectorAll('#throughput-chart [data-series=\"this run\"] circle')].map(c => Number(c.dataset.y))",
            as: [Double].self)
        #expect(Self.same(throughput, samples.map { ($0["qps"] as! NSNumber).doubleValue }))
        let baselineSamples = ((baseline["timeline"] as? [String: Any])?["samples"] as? [Any])?.count ?? 0
        #expect(baselineSamples > 0)
        #expect(
            try await tab.evaluate(
                "Number(document.querySelector('#throughput-chart [data-series=\"baseline\"]').dataset.points)",
                as: Int.self) == baselineSamples)
        // Latency percentiles over time: p99 per sample with calls.
        let p99 = try await tab.evaluate(
            "[...document.querySelectorAll('#latency-chart [data-series=\"p99\"] circle')].map(c => Number(c.dataset.y))",
            as: [Double].self)
        #expect(
            Self.same(p99, samples.filter { ($0["calls"] as! Int) > 0 }.map { ($0["p99_us"] as! NSNumber).doubleValue })
        )

        // Status codes over time: the bars of each code add up to the report's count for it.
        let statusCodes = try #require(report["status_codes"] as? [String: Int])
        #expect(Set(statusCodes.keys) == ["OK", "UNAVAILABLE"])
        for (code, count) in statusCodes {
            let drawn = try await tab.evaluate(
                "[...document.querySelectorAll('#status-chart rect.bar[data-series=\"\(code)\"]')].reduce((n, r) => n + Number(r.dataset.value), 0)",
                as: Int.self)
            #expect(drawn == count, "\(code)")
        }
        // The distribution holds every call, and marks the percentiles.
        #expect(
            try await tab.evaluate(
                "[...document.querySelectorAll('#distribution-chart rect.bucket')].reduce((n, r) => n + Number(r.dataset.count), 0)",
                as: Int.self) == report["calls"] as! Int)
        #expect(
            Self.same(
                [
                    try await tab.evaluate(
                        "Number(document.querySelector('#distribution-chart .marker[data-name=\"p99\"]').dataset.value)",
                        as: Double.self)
                ], [(report["p99_us"] as! NSNumber).doubleValue]))

        // A row per method, with its calls.
        let methods = try #require(report["methods"] as? [[String: Any]])
        for method in methods {
            let name = method["name"] as! String
            let calls = try await tab.evaluate(
                "document.querySelector('#methods td[data-method=\"\(name)\"]').parentElement.children[2].textContent",
                as: String.self)
            #expect(calls == (method["calls"] as! Int).formatted(.number.locale(Locale(identifier: "en"))), "\(name)")
        }
        // The comparison, as --compare printed it.
        let comparison = try #require(try Self.embedded("caravan-comparison", in: html) as? [String: Any])
        #expect(
            try await tab.evaluate("document.querySelectorAll('#comparison tr').length - 1", as: Int.self)
                == (comparison["rows"] as? [Any])?.count)
        try await tab.screenshot(Screenshots.path("load-report.png"))

        // A baseline written before reports had a timeline still loads: no baseline curve, the comparison still there.
        var old = baseline
        old["timeline"] = nil
        old["latency_histogram"] = nil
        try JSONSerialization.data(withJSONObject: old).write(to: URL(fileURLWithPath: directory + "/old.json"))
        let second = try await ServerProcess("caravan", ["echo-server", "--port", "0"])
        let againstOld = try await runCommand(
            "caravan",
            [
                "load", second.address, "--call", "caravan.echo.v1.Echo/Unary", "-n", "200", "--format", "html", "-o",
                directory + "/old-report.html", "--compare", directory + "/old.json", "--threshold", "100000",
            ])
        #expect(againstOld.status == 0, "\(againstOld.stderr)")
        _ = try await second.stop()
        try await tab.navigate("file://" + directory + "/old-report.html")
        try await tab.waitUntil(
            "location.href.endsWith('old-report.html') && document.body.dataset.rendered === 'true'")
        #expect(
            try await tab.evaluate(
                "document.querySelector('#throughput-chart [data-series=\"baseline\"]') === null", as: Bool.self))
        #expect(try await tab.evaluate("document.querySelectorAll('#comparison tr').length > 1", as: Bool.self))
        #expect(
            try await tab.evaluate("document.getElementById('methods-section').hidden", as: Bool.self),
            "one method: no table")
    }
}
