/// The pool's bookkeeping, without I/O: which replicas exist, whether each
/// has a connection ready, how many calls each carries, which are healthy
/// or ejected, and which one takes the next call. ``ReplicaPool`` holds it
/// under a lock; tests drive it directly.
public struct ReplicaBook: Sendable {
    /// What the book knows about one replica.
    public struct Replica: Sendable, Equatable {
        public let endpoint: Endpoint
        /// Whether its connection can take a call now, and if not why.
        public var readiness = ReplicaReadiness.connecting
        public var outstanding = 0
        public var consecutiveFailures = 0
        /// Ejections in a row without a success between; sets the next length.
        public var ejections = 0
        public var ejectedUntil: ContinuousClock.Instant?
        /// The last health check's verdict; a new replica counts as healthy.
        public var healthy = true
        /// Calls started on it, for tests and metrics.
        public var started = 0

        init(endpoint: Endpoint) { self.endpoint = endpoint }

        func isEligible(at now: ContinuousClock.Instant) -> Bool {
            self.healthy && (self.ejectedUntil.map { now >= $0 } ?? true)
        }
    }

    /// What the pool should do with the next call.
    public enum Pick: Equatable, Sendable {
        case replica(Endpoint)
        /// No connection is ready but some are being made: wait for one.
        case wait
        /// Every replica is failing (or there is none): fail, never sent.
        case fail(reason: String)
    }

    public private(set) var replicas: [Replica] = []
    public private(set) var outstanding = 0
    /// Ejections since the book was made, for metrics.
    public private(set) var ejectionTotal = 0
    private var cursor = 0
    private let configuration: ReplicaPoolConfiguration

    public init(configuration: ReplicaPoolConfiguration) {
        self.configuration = configuration
    }

    public var endpoints: [Endpoint] { self.replicas.map(\.endpoint) }

    /// Replaces the membership; keeps what it knew about replicas that stay.
    /// Returns the endpoints added and removed.
    public mutating func setEndpoints(_ endpoints: [Endpoint]) -> (added: [Endpoint], removed: [Endpoint]) {
        var seen = Set<Endpoint>()
        let unique = endpoints.filter { seen.insert($0).inserted }
        let old = Set(self.replicas.map(\.endpoint))
        let removed = self.replicas.map(\.endpoint).filter { !seen.contains($0) }
        let added = unique.filter { !old.contains($0) }
        let kept = Dictionary(uniqueKeysWithValues: self.replicas.map { ($0.endpoint, $0) })
        self.replicas = unique.map { kept[$0] ?? Replica(endpoint: $0) }
        self.cursor = 0
        return (added, removed)
    }

    /// Reserves a place for a call; false when the pool is at its cap.
    public mutating func admit() -> Bool {
        guard self.outstanding < self.configuration.maxOutstandingCalls else { return false }
        self.outstanding += 1
        return true
    }

    /// Gives back the place ``admit()`` reserved.
    public mutating func release() { self.outstanding = max(0, self.outstanding - 1) }

    /// The replica for the next call: the least loaded of those with a
    /// connection ready that are healthy and not ejected, ties broken round
    /// robin. When none qualifies it takes any ready one (a "panic" pick, as
    /// Envoy does), so a pool whose replicas all look down still probes
    /// them and recovers on its own instead of refusing every call.
    public mutating func pick(now: ContinuousClock.Instant? = nil) -> Pick {
        switch self.choose(now: now) {
        case .replica(let index): .replica(self.replicas[index].endpoint)
        case .wait: .wait
        case .fail(let reason): .fail(reason: reason)
        }
    }

    /// ``pick(now:)`` naming the replica by its place in ``replicas``, as
    /// the pool keeps its channels.
    enum Choice {
        case replica(index: Int)
        case wait
        case fail(String)
    }

    /// Runs on every call: reads each replica's fields in place rather
    /// than copying it, and reads the clock only when a replica is ejected.
    mutating func choose(now: ContinuousClock.Instant? = nil) -> Choice {
        let count = self.replicas.count
        var now = now
        var best: Int?
        var panicBest: Int?
        var anyPending = false
        var reasons: [String] = []
        for offset in 0..<count {
            let index = (self.cursor + offset) % count
            switch self.replicas[index].readiness {
            case .ready:
                let outstanding = self.replicas[index].outstanding
                if self.isEligible(index, now: &now) {
                    if best.map({ outstanding < self.replicas[$0].outstanding }) ?? true { best = index }
                } else if panicBest.map({ outstanding < self.replicas[$0].outstanding }) ?? true {
                    panicBest = index
                }
            case .connecting, .idle:
                anyPending = true
            case .failing(let reason):
                reasons.append(count == 1 ? reason : "\(self.replicas[index].endpoint): \(reason)")
            }
        }
        guard let chosen = best ?? panicBest else {
            if anyPending { return .wait }
            return .fail(reasons.isEmpty ? "no replica is configured" : reasons.joined(separator: "; "))
        }
        self.cursor = (chosen + 1) % count
        self.replicas[chosen].outstanding += 1
        self.replicas[chosen].started += 1
        return .replica(index: chosen)
    }

    private func isEligible(_ index: Int, now: inout ContinuousClock.Instant?) -> Bool {
        guard self.replicas[index].ejectedUntil != nil else { return self.replicas[index].healthy }
        let instant = now ?? .now
        now = instant
        return self.replicas[index].isEligible(at: instant)
    }

    /// Records the end of a call on `endpoint`. `replicaFailed` is true for
    /// failures that say the replica (not the request) is at fault.
    public mutating func finish(_ endpoint: Endpoint, replicaFailed: Bool, now: ContinuousClock.Instant? = nil) {
        guard let index = self.index(of: endpoint) else { return }
        self.finish(index: index, replicaFailed: replicaFailed, now: now)
    }

    /// ``finish(_:replicaFailed:now:)`` for the replica ``choose(now:)``
    /// returned, if the membership has not changed since.
    mutating func finish(index: Int, endpoint: Endpoint, replicaFailed: Bool) {
        if index < self.replicas.count, self.replicas[index].endpoint == endpoint {
            self.finish(index: index, replicaFailed: replicaFailed, now: nil)
        } else {
            self.finish(endpoint, replicaFailed: replicaFailed)
        }
    }

    private mutating func finish(index: Int, replicaFailed: Bool, now: ContinuousClock.Instant?) {
        self.replicas[index].outstanding = max(0, self.replicas[index].outstanding - 1)
        if replicaFailed {
            self.replicas[index].consecutiveFailures += 1
            if self.replicas[index].consecutiveFailures >= self.configuration.ejectionThreshold {
                self.eject(index, now: now ?? .now)
            }
        } else if self.replicas[index].consecutiveFailures != 0 || self.replicas[index].ejections != 0
            || self.replicas[index].ejectedUntil != nil
        {
            self.replicas[index].consecutiveFailures = 0
            self.replicas[index].ejections = 0
            self.replicas[index].ejectedUntil = nil
        }
    }

    /// Records a health check's verdict.
    public mutating func setHealthy(_ endpoint: Endpoint, _ healthy: Bool) {
        guard let index = self.index(of: endpoint) else { return }
        self.replicas[index].healthy = healthy
    }

    /// Records whether the replica's connection can take a call now.
    public mutating func setReadiness(_ endpoint: Endpoint, _ readiness: ReplicaReadiness) {
        guard let index = self.index(of: endpoint) else { return }
        self.replicas[index].readiness = readiness
    }

    /// Whether any replica could take a call now (for readiness): healthy,
    /// not ejected, with a connection up or to be made on demand.
    public func hasEligibleReplica(now: ContinuousClock.Instant = .now) -> Bool {
        self.replicas.contains { $0.isEligible(at: now) && ($0.readiness == .ready || $0.readiness == .idle) }
    }

    private func index(of endpoint: Endpoint) -> Int? {
        self.replicas.firstIndex { $0.endpoint == endpoint }
    }

    private mutating func eject(_ index: Int, now: ContinuousClock.Instant) {
        var length = self.configuration.baseEjection
        for _ in 0..<min(self.replicas[index].ejections, 16) { length = length * 2 }
        length = min(length, self.configuration.maxEjection)
        self.replicas[index].ejections += 1
        self.ejectionTotal += 1
        self.replicas[index].consecutiveFailures = 0
        self.replicas[index].ejectedUntil = now.advanced(by: length)
    }
}

/// Whether a replica's connection can take a call now.
public enum ReplicaReadiness: Hashable, Sendable {
    case ready
    /// Being made.
    case connecting
    /// The server closed it in good order; made again when a call needs it.
    case idle
    /// Attempts are failing; the last one's reason, in plain words.
    case failing(String)
}

/// How a ``ReplicaPool`` spreads, limits and ejects.
public struct ReplicaPoolConfiguration: Sendable {
    /// Calls in flight across all replicas; one more fails RESOURCE_EXHAUSTED at once.
    public var maxOutstandingCalls: Int
    /// Consecutive UNAVAILABLE failures after which a replica is ejected.
    public var ejectionThreshold: Int
    /// The first ejection's length; it doubles per repeat, up to `maxEjection`.
    public var baseEjection: Duration
    public var maxEjection: Duration
    /// How long a call waits for a connection when none is ready.
    public var connectionWait: Duration

    public init(
        maxOutstandingCalls: Int = .max,
        ejectionThreshold: Int = 3,
        baseEjection: Duration = .seconds(1),
        maxEjection: Duration = .seconds(30),
        connectionWait: Duration = .seconds(5)
    ) {
        self.maxOutstandingCalls = max(1, maxOutstandingCalls)
        self.ejectionThreshold = max(1, ejectionThreshold)
        self.baseEjection = baseEjection
        self.maxEjection = maxEjection
        self.connectionWait = connectionWait
    }

    public static var defaults: ReplicaPoolConfiguration { ReplicaPoolConfiguration() }
}
