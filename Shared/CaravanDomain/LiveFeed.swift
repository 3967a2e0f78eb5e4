import CaravanCore
import Synchronization

/// Hands what a service commits to the watchers in this process, as it
/// commits: the server side of the `Watch…` streams that carry no history.
///
/// Writers publish after their transaction commits, so a watcher never sees
/// a change that could still roll back. Each watcher buffers up to
/// ``bufferSize`` changes; one that falls further behind (a client reading
/// slower than the service writes) is ended with RESOURCE_EXHAUSTED instead
/// of being sent a stream with a silent gap, so it knows to reopen and read
/// what it missed.
public final class LiveFeed<Change: Sendable>: Sendable {
    private struct State {
        var nextToken: UInt64 = 0
        var watchers: [UInt64: AsyncStream<Change>.Continuation] = [:]
        /// Watchers ended because their buffer was full.
        var overflowed: Set<UInt64> = []
    }

    public let bufferSize: Int
    private let state = Mutex(State())

    public init(bufferSize: Int = 256) {
        self.bufferSize = max(1, bufferSize)
    }

    /// Calls `opened` once this watcher is registered (every change
    /// published from then on reaches it), then `body` with each change,
    /// until the calling task is cancelled (the caller went away, or the
    /// server stopped). Throws what they throw, or RESOURCE_EXHAUSTED once
    /// this watcher fell more than ``bufferSize`` changes behind.
    public func watch(
        opened: () async throws -> Void, _ body: (Change) async throws -> Void
    ) async throws {
        let (stream, continuation) = AsyncStream<Change>.makeStream(
            bufferingPolicy: .bufferingOldest(self.bufferSize))
        let token = self.state.withLock { state in
            state.nextToken += 1
            state.watchers[state.nextToken] = continuation
            return state.nextToken
        }
        defer {
            continuation.finish()
            self.state.withLock { state in
                state.watchers[token] = nil
                state.overflowed.remove(token)
            }
        }
        try await opened()
        for await change in stream { try await body(change) }
        if self.state.withLock({ $0.overflowed.contains(token) }) {
            throw RPCError(
                code: .resourceExhausted,
                message:
                    "This watch fell more than \(self.bufferSize) changes behind and was ended; reopen it and read what was missed."
            )
        }
    }

    /// Sends `change` to every watcher; call it after the change committed.
    public func publish(_ change: Change) {
        let watchers = self.state.withLock { Array($0.watchers) }
        for (token, watcher) in watchers {
            if case .dropped = watcher.yield(change) {
                // Mark before finishing: the watcher reads the mark once its
                // stream has ended.
                self.state.withLock { _ = $0.overflowed.insert(token) }
                watcher.finish()
            }
        }
    }

    /// Watchers currently subscribed (for tests and metrics).
    public var watcherCount: Int { self.state.withLock { $0.watchers.count } }
}
