import CaravanServiceKit

/// The pool's bookkeeping, without I/O: which replicas exist, how many calls
/// each carries, which are healthy or ejected, and which one takes the next
/// call. ``BackendPool`` holds it under a lock; tests drive it directly.
public struct ReplicaBook: Sendable {
    /// What the book knows about one replica.
    public struct Replica: Sendable, Equatable {
        public let endpoint: Endpoint
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

    public private(set) var replicas: [Replica] = []
    public private(set) var outstanding = 0
    /// Ejections since the book was made, for metrics.
    public private(set) var ejectionTotal = 0
    private var cursor = 0
    private let configuration: BackendPoolConfiguration

    public init(configuration: BackendPoolConfiguration) {
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

    /// The replica for the next attempt: the least loaded of the healthy,
    /// non-ejected ones not yet tried, ties broken round robin. When none
    /// qualifies it falls back to any untried replica (a "panic" pick, as
    /// Envoy does), so a pool whose replicas all look down still probes
    /// them and recovers on its own instead of refusing every call.
    public mutating func pick(excluding tried: Set<Endpoint> = [], now: ContinuousClock.Instant = .now) -> Endpoint? {
        let count = self.replicas.count
        guard count > 0 else { return nil }
        var best: Int?
        var panicBest: Int?
        for offset in 0..<count {
            let index = (self.cursor + offset) % count
            let replica = self.replicas[index]
            if tried.contains(replica.endpoint) { continue }
            if replica.isEligible(at: now) {
                if best.map({ replica.outstanding < self.replicas[$0].outstanding }) ?? true { best = index }
            } else if panicBest.map({ replica.outstanding < self.replicas[$0].outstanding }) ?? true {
                panicBest = index
            }
        }
        guard let chosen = best ?? panicBest else { return nil }
        self.cursor = (chosen + 1) % count
        self.replicas[chosen].outstanding += 1
        self.replicas[chosen].started += 1
        return self.replicas[chosen].endpoint
    }

    /// Records the end of an attempt on `endpoint`. `replicaFailed` is true
    /// for failures that say the replica (not the request) is at fault.
    public mutating func finish(_ endpoint: Endpoint, replicaFailed: Bool, now: ContinuousClock.Instant = .now) {
        guard let index = self.replicas.firstIndex(where: { $0.endpoint == endpoint }) else { return }
        self.replicas[index].outstanding = max(0, self.replicas[index].outstanding - 1)
        if replicaFailed {
            self.replicas[index].consecutiveFailures += 1
            if self.replicas[index].consecutiveFailures >= self.configuration.ejectionThreshold {
                self.eject(index, now: now)
            }
        } else {
            self.replicas[index].consecutiveFailures = 0
            self.replicas[index].ejections = 0
            self.replicas[index].ejectedUntil = nil
        }
    }

    /// Records a health check's verdict.
    public mutating func setHealthy(_ endpoint: Endpoint, _ healthy: Bool) {
        guard let index = self.replicas.firstIndex(where: { $0.endpoint == endpoint }) else { return }
        self.replicas[index].healthy = healthy
    }

    /// Whether any replica could take a call now (for readiness).
    public func hasEligibleReplica(now: ContinuousClock.Instant = .now) -> Bool {
        self.replicas.contains { $0.isEligible(at: now) }
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
