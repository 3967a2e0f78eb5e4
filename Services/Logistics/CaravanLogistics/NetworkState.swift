import Synchronization

/// Holds the current ``NetworkSnapshot``: loads it on first use, takes
/// newer ones as this process's link changes commit, and every
/// `recheckInterval` compares the stored network version, so link changes
/// made by another replica sharing the database reach this one too.
///
/// Versions come from the database (bumped in the same transaction as the
/// change), so when two writers finish out of order the older snapshot
/// never replaces the newer one.
final class NetworkState: Sendable {
    private struct Held {
        var snapshot: NetworkSnapshot?
        var checkedAt: ContinuousClock.Instant
    }

    private let held: Mutex<Held>
    private let store: any LogisticsStore
    private let recheckInterval: Duration

    init(store: any LogisticsStore, recheckInterval: Duration) {
        self.store = store
        self.recheckInterval = recheckInterval
        self.held = Mutex(Held(snapshot: nil, checkedAt: .now))
    }

    /// The current snapshot, loading or refreshing it from the store when due.
    func snapshot() async throws -> NetworkSnapshot {
        let now = ContinuousClock.now
        let interval = self.recheckInterval
        let (current, due) = self.held.withLock { held -> (NetworkSnapshot?, Bool) in
            let due = held.snapshot == nil || held.checkedAt.duration(to: now) >= interval
            // One caller does the check; the others keep using what is held.
            if due { held.checkedAt = now }
            return (held.snapshot, due)
        }
        if let current, !due { return current }
        if let current {
            // A failed check is not worth failing a route search over.
            guard let version = try? await self.store.networkVersion(), version > current.version else {
                return current
            }
        }
        return self.install(NetworkSnapshot(try await self.store.loadNetwork()))
    }

    /// Takes `snapshot` unless a newer one is already held; returns the one held.
    @discardableResult
    func install(_ snapshot: NetworkSnapshot) -> NetworkSnapshot {
        self.held.withLock { held in
            if let existing = held.snapshot, existing.version >= snapshot.version { return existing }
            held.snapshot = snapshot
            return snapshot
        }
    }
}
