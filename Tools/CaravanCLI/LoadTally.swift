import CaravanCore
import Histogram
import Synchronization

/// A tally of calls: latencies, status codes, error messages.
struct WorkerTally: Sendable {
    var latencies = Histogram<UInt64>(
        lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000_000, numberOfSignificantValueDigits: .three)
    var codes: [Int32: Int] = [:]
    var errorMessages: [String: Int] = [:]
    var warmupCalls = 0

    mutating func record(code: Int32, latency: Duration, message: String?) {
        _ = self.latencies.record(UInt64(max(1, latency.totalNanoseconds)))
        self.codes[code, default: 0] += 1
        if let message, self.errorMessages.count < 100 || self.errorMessages[message] != nil {
            self.errorMessages[message, default: 0] += 1
        }
    }

    mutating func merge(_ other: WorkerTally) {
        self.latencies.add(other.latencies)
        self.codes.merge(other.codes, uniquingKeysWith: +)
        self.errorMessages.merge(other.errorMessages, uniquingKeysWith: +)
        self.warmupCalls += other.warmupCalls
    }
}

/// A tally per step of the plan, and the run's calls over time.
struct RunTally: Sendable {
    var steps: [WorkerTally]
    var timeline = IntervalSeries()

    init(steps: Int) { self.steps = Array(repeating: WorkerTally(), count: steps) }

    mutating func merge(_ other: RunTally) {
        for index in self.steps.indices { self.steps[index].merge(other.steps[index]) }
        self.timeline.merge(other.timeline)
    }

    /// All steps together.
    var total: WorkerTally {
        var total = WorkerTally()
        for step in self.steps { total.merge(step) }
        return total
    }
}

/// How one call went.
struct CallOutcome: Sendable {
    var step: Int
    var code: Int32
    /// On failure.
    var message: String?
}

/// A tally the calls of a run add to, one shard per connection event loop:
/// the calls on a loop run on its thread, so its shard's lock is in effect
/// uncontended. Calls record into it (a histogram increment) rather than
/// each filling a tally of its own: an empty histogram is about 270 KB, and
/// making and merging one per call capped the open loop at a few thousand
/// calls/s (and one per worker and step would cost gigabytes at -c 1000).
final class SharedTally: Sendable {
    private let tally: Mutex<RunTally>
    init(steps: Int) { self.tally = Mutex(RunTally(steps: steps)) }
    func update(_ body: (inout RunTally) -> Void) { self.tally.withLock { body(&$0) } }
    var total: RunTally { self.tally.withLock { $0 } }

    static func shards(_ count: Int, steps: Int) -> [SharedTally] {
        (0..<max(1, count)).map { _ in SharedTally(steps: steps) }
    }

    static func total(of shards: [SharedTally]) -> RunTally {
        var total = shards[0].total
        for shard in shards.dropFirst() { total.merge(shard.total) }
        return total
    }
}
