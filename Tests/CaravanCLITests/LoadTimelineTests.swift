import Foundation
import Histogram
import Testing

@testable import CaravanCLI

@Suite("Load report timelines and the HTML report")
struct LoadTimelineTests {
    @Test("A long run's intervals widen and merge: bounded in number, no call lost")
    func intervalsStayBounded() {
        var series = IntervalSeries()
        // 100 s at one call per 10 ms: 1,000 intervals of 100 ms would be needed.
        for call in 0..<10_000 {
            series.record(
                offset: .milliseconds(call * 10), code: call % 10 == 0 ? 14 : 0, latency: .microseconds(100 + call % 50)
            )
        }
        #expect(series.intervals.count <= IntervalSeries.maximumIntervals)
        #expect(series.width == .milliseconds(200))
        #expect(series.intervals.reduce(0) { $0 + Int($1.latencies.totalCount) } == 10_000)
        #expect(series.intervals.reduce(0) { $0 + ($1.codes[14] ?? 0) } == 1_000)
    }

    @Test("Merging series of different widths keeps every call in its interval")
    func mergeAcrossWidths() {
        var fine = IntervalSeries()
        var coarse = IntervalSeries()
        for call in 0..<600 { fine.record(offset: .milliseconds(call * 10), code: 0, latency: .microseconds(50)) }
        for call in 0..<6_000 { coarse.record(offset: .milliseconds(call * 10), code: 0, latency: .microseconds(50)) }
        #expect(coarse.width > fine.width)
        fine.merge(coarse)
        #expect(fine.width == coarse.width)
        // The first 6 s hold calls of both series: 2 per 10 ms.
        let firstInterval = fine.intervals[0]
        #expect(Int(firstInterval.latencies.totalCount) == 2 * Int(coarse.width / .milliseconds(10)))
        #expect(fine.intervals.reduce(0) { $0 + Int($1.latencies.totalCount) } == 6_600)
    }

    @Test("Samples: every call counted once, rates per interval, a short last interval joins the one before")
    func samples() {
        var series = IntervalSeries()
        // 1.03 s at one call per millisecond: ten full intervals and 30 ms.
        for call in 0..<1_030 {
            series.record(offset: .milliseconds(call), code: call < 1_000 ? 0 : 4, latency: .microseconds(200 + call))
        }
        let timeline = LoadTimeline(series, elapsed: .milliseconds(1_030))
        #expect(timeline.intervalSeconds == 0.1)
        #expect(timeline.samples.count == 10)
        #expect(timeline.samples.reduce(0) { $0 + $1.calls } == 1_030)
        #expect(abs(timeline.samples[0].qps - 1_000) < 1e-6)
        let last = timeline.samples[9]
        #expect(last.calls == 130 && last.errors == 30 && last.statusCodes == ["OK": 100, "DEADLINE_EXCEEDED": 30])
        #expect(abs(last.endSeconds - 1.03) < 1e-9 && abs(last.qps - 1_000) < 1e-6)
        #expect(last.p50Us > timeline.samples[0].p50Us)
    }

    @Test("The distribution's buckets hold every call, on contiguous log-spaced edges")
    func distribution() {
        var histogram = Histogram<UInt64>(
            lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000_000, numberOfSignificantValueDigits: .three)
        for value in [90_000, 120_000, 130_000, 1_000_000, 55_000_000] as [UInt64] { _ = histogram.record(value) }
        let buckets = LatencyBucket.buckets(histogram)
        #expect(buckets.reduce(0) { $0 + $1.count } == 5)
        #expect(buckets.first!.fromUs <= 90 && buckets.last!.toUs >= 55_000)
        for (a, b) in zip(buckets, buckets.dropFirst()) { #expect(abs(a.toUs - b.fromUs) < 1e-9) }
        #expect(LatencyBucket.buckets(Histogram<UInt64>(highestTrackableValue: 1_000)).isEmpty)
    }

    @Test(
        "A report from before timelines decodes; the page embeds reports so that no text can end their script element")
    func oldReportsAndPage() throws {
        let old = #"""
            {"address":"127.0.0.1:7001","calls":10,"concurrency":1,"connections":1,"duration_s":1,"errors":0,
             "max_us":9,"mean_us":5,"method":"/caravan.echo.v1.Echo/Unary","model":"closed","p50_us":5,"p75_us":6,
             "p90_us":7,"p95_us":8,"p99_us":9,"p999_us":9,"qps":10,"status_codes":{"OK":10},
             "top_errors":[{"message":"</script><script>alert(1)</script>","count":1}],"warmup_calls":0}
            """#
        let report = try JSONDecoder().decode(LoadReport.self, from: Data(old.utf8))
        #expect(report.timeline == nil && report.latencyHistogram == nil && report.methods == nil)
        let comparison = LoadComparison(baseline: report, current: report, threshold: 0.1)
        let page = try LoadReportPage.html(report: report, baseline: report, comparison: comparison)
        #expect(!page.contains("{{"), "every placeholder filled")
        #expect(page.components(separatedBy: "</script>").count == page.components(separatedBy: "<script").count)
        #expect(page.contains("CaravanCharts") && page.contains(#"\u003c\/script>\u003cscript>alert(1)"#))
    }
}
