/// How many calls a server lets run at once, adapted to the latency it
/// measures: the gradient algorithm of Netflix's concurrency-limits
/// (`Gradient2Limit`), without I/O or clocks so that tests step it.
///
/// The fastest window of the recent past (its average latency) stands for
/// the latency of a server that is not queueing — a minimum rather than
/// Netflix's long-term average, which creeps up during a sustained overload
/// until the overload looks normal. Each window's average is compared with
/// it: while the window is no slower than `tolerance` times the baseline
/// (or the baseline plus `queueingAllowance`, whichever is more) the limit
/// grows by `queueSize` per window; when calls slow down (they queue for
/// threads, the database, a backend) the limit shrinks in proportion, down
/// to half per window. Calls above the limit are refused at once, so that
/// the calls admitted keep their latency instead of every call waiting
/// behind the queue until its deadline.
public struct AdaptiveConcurrencyLimit: Sendable {
    public struct Configuration: Sendable, Equatable {
        /// The limit before any measurement, and the floor it never goes under.
        public var initialLimit: Int
        public var minLimit: Int
        /// The ceiling (`--max-in-flight-calls`).
        public var maxLimit: Int
        /// How much slower than the baseline a window may be
        /// before the limit shrinks.
        public var tolerance: Double
        /// Queueing a window may add to the baseline before the limit
        /// shrinks, whatever the tolerance: a server whose calls take
        /// microseconds would otherwise refuse calls over a burst that
        /// delays them by a millisecond.
        public var queueingAllowance: Duration
        /// Share of a new estimate taken per window (the rest is the old limit).
        public var smoothing: Double
        /// Samples a window needs before it counts.
        public var windowSamples: Int
        /// Windows the baseline remembers (between this many and twice as many).
        public var baselineWindows: Int

        public init(
            initialLimit: Int = 512, minLimit: Int = 16, maxLimit: Int = 4096, tolerance: Double = 2,
            queueingAllowance: Duration = .milliseconds(5), smoothing: Double = 0.2, windowSamples: Int = 20,
            baselineWindows: Int = 150
        ) {
            self.minLimit = max(1, minLimit)
            self.maxLimit = max(self.minLimit, maxLimit)
            self.initialLimit = min(max(initialLimit, self.minLimit), self.maxLimit)
            self.tolerance = max(1, tolerance)
            self.queueingAllowance = max(.zero, queueingAllowance)
            self.smoothing = min(max(smoothing, 0.01), 1)
            self.windowSamples = max(1, windowSamples)
            self.baselineWindows = max(1, baselineWindows)
        }

        public static var defaults: Configuration { Configuration() }
    }

    public let configuration: Configuration
    /// Calls admitted at once; a fraction while it moves smoothly.
    public private(set) var estimatedLimit: Double
    /// The baseline latency, in seconds; nil before the first window.
    public var baselineLatency: Double? { self.baselineBuckets.map { min($0.previous, $0.current) } }
    /// The last full window's average and fastest latency, in seconds.
    public private(set) var lastWindowLatency: Double?
    public private(set) var lastWindowFastest: Double?

    private var windowSum = 0.0
    private var windowCount = 0
    private var windowFastest = Double.infinity
    private var windowMaxInFlight = 0
    /// The fastest window average of the last bucket and of this one; a
    /// bucket spans `baselineWindows` windows.
    private var baselineBuckets: (previous: Double, current: Double)?
    private var windowsInBucket = 0

    public init(configuration: Configuration = .defaults) {
        self.configuration = configuration
        self.estimatedLimit = Double(configuration.initialLimit)
    }

    /// The whole number of calls admitted at once now.
    public var limit: Int { Int(self.estimatedLimit) }

    /// Records a finished call's latency (arrival to answer) and how many
    /// calls were running when it started. Returns true when it closed a
    /// window and the limit was recomputed.
    @discardableResult
    public mutating func record(latency: Duration, inFlight: Int) -> Bool {
        let seconds = latency.totalSeconds
        self.windowSum += seconds
        self.windowCount += 1
        self.windowFastest = min(self.windowFastest, seconds)
        self.windowMaxInFlight = max(self.windowMaxInFlight, inFlight)
        guard self.windowCount >= self.configuration.windowSamples else { return false }
        self.closeWindow()
        return true
    }

    private mutating func closeWindow() {
        let short = max(self.windowSum / Double(self.windowCount), 1e-9)
        let busiest = self.windowMaxInFlight
        self.lastWindowLatency = short
        self.lastWindowFastest = self.windowFastest
        self.windowSum = 0
        self.windowCount = 0
        self.windowFastest = .infinity
        self.windowMaxInFlight = 0

        var buckets = self.baselineBuckets ?? (short, short)
        buckets.current = min(buckets.current, short)
        self.windowsInBucket += 1
        if self.windowsInBucket >= self.configuration.baselineWindows {
            buckets = (buckets.current, short)
            self.windowsInBucket = 0
        }
        self.baselineBuckets = buckets
        let baseline = min(buckets.previous, buckets.current)

        let acceptable = max(
            self.configuration.tolerance * baseline, baseline + self.configuration.queueingAllowance.totalSeconds)
        let gradient = min(1, max(0.5, acceptable / short))
        let queueSize = max(4, self.estimatedLimit.squareRoot())
        let target = self.estimatedLimit * gradient + queueSize
        var smoothed = self.estimatedLimit * (1 - self.configuration.smoothing) + target * self.configuration.smoothing
        // A server that never filled half its limit says nothing about a
        // larger one: it does not grow on that account. It does shrink when
        // its calls slow down, or a limit far above the calls running would
        // never come into play.
        if Double(busiest) < self.estimatedLimit / 2 { smoothed = min(smoothed, self.estimatedLimit) }
        self.estimatedLimit = min(
            Double(self.configuration.maxLimit), max(Double(self.configuration.minLimit), smoothed))
    }
}
