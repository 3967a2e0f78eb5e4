import Synchronization

/// Holds the current ``NetworkSnapshot``; loads it on first use and takes
/// newer ones as link changes commit.
///
/// Versions come from the database (bumped in the same transaction as the
/// change), so when two writers finish out of order the older snapshot
/// never replaces the newer one.
final class NetworkState: Sendable {
    private let current = Mutex<NetworkSnapshot?>(nil)
    private let store: any LogisticsStore

    init(store: any LogisticsStore) {
        self.store = store
    }

    /// The current snapshot, loading it from the store the first time.
    func snapshot() async throws -> NetworkSnapshot {
        if let snapshot = self.current.withLock({ $0 }) { return snapshot }
        let loaded = NetworkSnapshot(try await self.store.loadNetwork())
        return self.install(loaded)
    }

    /// Takes `snapshot` unless a newer one is already held; returns the one held.
    @discardableResult
    func install(_ snapshot: NetworkSnapshot) -> NetworkSnapshot {
        self.current.withLock { held in
            if let existing = held, existing.version >= snapshot.version { return existing }
            held = snapshot
            return snapshot
        }
    }
}
