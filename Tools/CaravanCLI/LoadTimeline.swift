import CaravanCore
import Foundation
import Histogram

/// The calls of a run counted per interval of time, for the report's curves:
/// per interval a count per status code and a latency histogram. A call is
/// counted in the interval in which it finished (throughput is completions
/// per second, as ghz and wrk report it).
///
/// Intervals start `initialWidth` wide. Past `maximumIntervals` the width
/// doubles and neighbours merge, so a run of any length costs bounded
/// memory: an interval's histogram (two significant digits, 1 µs to 1 h) is
/// about 14 KB, so a tally shard holds at most about 7 MB of them.
struct IntervalSeries: Sendable {
    static let initialWidth = Duration.milliseconds(100)
    static let maximumIntervals = 512

    struct Interval: Sendable {
        var codes: [Int32: Int] = [:]
        var latencies = Histogram<UInt32>(
            lowestDiscernibleValue: 1_000, highestTrackableValue: 3_600_000_000_000,
            numberOfSignificantValueDigits: .two)

        mutating func merge(_ other: Interval) {
            self.codes.merge(other.codes, uniquingKeysWith: +)
            self.latencies.add(other.latencies)
        }
    }

    private(set) var width = Self.initialWidth
    private(set) var intervals: [Interval] = []

    /// Counts a call that finished `offset` after measuring began.
    mutating func record(offset: Duration, code: Int32, latency: Duration) {
        var index = Self.index(offset, self.width)
        while index >= Self.maximumIntervals {
            self.coarsen()
            index = Self.index(offset, self.width)
        }
        if index >= self.intervals.count {
            self.intervals.append(contentsOf: repeatElement(Interval(), count: index + 1 - self.intervals.count))
        }
        self.intervals[index].codes[code, default: 0] += 1
        _ = self.intervals[index].latencies.record(UInt64(max(1, latency.totalNanoseconds)))
    }

    mutating func merge(_ other: IntervalSeries) {
        var other = other
        while self.width < other.width { self.coarsen() }
        while other.width < self.width { other.coarsen() }
        if other.intervals.count > self.intervals.count {
            self.intervals.append(
                contentsOf: repeatElement(Interval(), count: other.intervals.count - self.intervals.count))
        }
        for (index, interval) in other.intervals.enumerated() { self.intervals[index].merge(interval) }
    }

    /// Doubles the width: intervals 2k and 2k+1 become interval k.
    mutating func coarsen() {
        self.width *= 2
        self.intervals = stride(from: 0, to: self.intervals.count, by: 2).map { start in
            var merged = self.intervals[start]
            if start + 1 < self.intervals.count { merged.merge(self.intervals[start + 1]) }
            return merged
        }
    }

    private static func index(_ offset: Duration, _ width: Duration) -> Int {
        max(0, Int(offset.totalNanoseconds / width.totalNanoseconds))
    }
}

/// The report's curves over time: one sample per interval of the run.
public struct LoadTimeline: Codable, Sendable, Equatable {
    /// The width of every interval, in seconds.
    public var intervalSeconds: Double
    public var samples: [Sample]

    /// The calls that finished in one interval.
    public struct Sample: Codable, Sendable, Equatable {
        /// The interval's end, in seconds from the start of measuring.
        public var endSeconds: Double
        public var calls: Int
        public var errors: Int
        /// Calls finished per second in the interval.
        public var qps: Double
        public var p50Us: Double
        public var p90Us: Double
        public var p99Us: Double
        public var maxUs: Double
        /// Calls per status name.
        public var statusCodes: [String: Int]

        enum CodingKeys: String, CodingKey {
            case calls, errors, qps
            case endSeconds = "end_s", p50Us = "p50_us", p90Us = "p90_us", p99Us = "p99_us", maxUs = "max_us"
            case statusCodes = "status_codes"
        }
    }

    enum CodingKeys: String, CodingKey {
        case samples
        case intervalSeconds = "interval_s"
    }

    /// A chart reads at most this many points; a series with more is merged down.
    static let maximumSamples = 120

    /// The series of a run that measured for `elapsed`, as samples. Calls
    /// that finished after the end (answers to calls in flight) are in the
    /// last interval; a last interval shorter than half the width joins the
    /// one before, so its rate is not measured over a sliver of time.
    init(_ series: IntervalSeries, elapsed: Duration) {
        var series = series
        func count() -> Int { max(series.intervals.count, Int((elapsed / series.width).rounded(.up)), 1) }
        while count() > Self.maximumSamples { series.coarsen() }
        let width = series.width.totalSeconds
        var intervals =
            series.intervals + repeatElement(IntervalSeries.Interval(), count: count() - series.intervals.count)
        var spans = intervals.indices.map { _ in width }
        let last = elapsed.totalSeconds - Double(intervals.count - 1) * width
        if last > 0, last < width { spans[spans.count - 1] = last }
        if intervals.count > 1, last > 0, last < width / 2 {
            let tail = intervals.removeLast()
            intervals[intervals.count - 1].merge(tail)
            spans.removeLast()
            spans[spans.count - 1] += last
        }
        self.intervalSeconds = width
        var end = 0.0
        self.samples = zip(intervals, spans).map { interval, span in
            let histogram = interval.latencies
            func micros(_ percentile: Double) -> Double {
                histogram.totalCount == 0 ? 0 : Double(histogram.valueAtPercentile(percentile)) / 1000
            }
            end += span
            let calls = Int(histogram.totalCount)
            return Sample(
                endSeconds: end, calls: calls, errors: interval.codes.filter { $0.key != 0 }.values.reduce(0, +),
                qps: Double(calls) / span, p50Us: micros(50), p90Us: micros(90), p99Us: micros(99),
                maxUs: histogram.totalCount == 0 ? 0 : Double(histogram.max) / 1000,
                statusCodes: StatusNames.named(interval.codes))
        }
    }
}

/// One bar of the latency distribution: calls whose latency fell in [from, to).
public struct LatencyBucket: Codable, Sendable, Equatable {
    public var fromUs: Double
    public var toUs: Double
    public var count: Int

    enum CodingKeys: String, CodingKey {
        case count
        case fromUs = "from_us", toUs = "to_us"
    }

    /// Ten buckets per decade of microseconds (each about 26 % wider than the
    /// last), from the fastest call's to the slowest's; empty ones included,
    /// so the bars read as a histogram on a log axis.
    static func buckets(_ histogram: Histogram<UInt64>) -> [LatencyBucket] {
        guard histogram.totalCount > 0 else { return [] }
        func decile(_ nanoseconds: UInt64) -> Int {
            Int((10 * log10(max(Double(nanoseconds) / 1000, 0.001))).rounded(.down))
        }
        let first = decile(histogram.min)
        var counts = [Int](repeating: 0, count: decile(histogram.max) - first + 1)
        for value in histogram.recordedValues() {
            let index = min(max(0, decile(value.value) - first), counts.count - 1)
            counts[index] += Int(value.count)
        }
        return counts.enumerated().map { offset, count in
            LatencyBucket(
                fromUs: pow(10, Double(first + offset) / 10), toUs: pow(10, Double(first + offset + 1) / 10),
                count: count)
        }
    }
}

/// Status codes by name (OK, UNAVAILABLE, …), as the reports show them.
enum StatusNames {
    static func named(_ codes: [Int32: Int]) -> [String: Int] {
        Dictionary(codes.map { (StatusCode(rawValue: $0.key)?.name ?? "\($0.key)", $0.value) }, uniquingKeysWith: +)
    }
}
