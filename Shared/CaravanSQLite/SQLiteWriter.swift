import CaravanCore
import Synchronization

/// The one connection that writes a database file, on a thread of its own,
/// committing writes in groups.
///
/// Each write runs in a SAVEPOINT inside the open transaction: a write
/// that throws is rolled back alone. The transaction is committed — one
/// fsync for every write in it — when the writer's queue has drained (no
/// write is waiting to run) or after ``maximumBatch`` writes, and only then
/// does any write in it return: no write is acknowledged before the commit
/// that makes it durable, and a commit that fails fails every write in it.
/// Under load, writes that arrive during one commit's fsync share the next.
///
/// Bodies run on the writer's thread, isolated to this actor, and must not
/// suspend: their SQLite calls are synchronous, and an `await` that really
/// suspended would let the next write run inside their savepoint. (Their
/// type is `async` so that one workflow serves SQLite and PostgreSQL, whose
/// calls do suspend; they are `nonisolated(nonsending)` so that calling
/// them from here does not leave this thread.) A write that enters while
/// another's body is suspended is refused rather than interleaved.
public actor SQLiteWriter {
    private let executor: SerialThreadExecutor
    private let connection: SQLiteConnection
    private var batch: CommitBatch?
    private var writesInBatch = 0
    private var bodyRunning = false
    /// Writes per transaction at most, so that under sustained load a
    /// commit still comes (and with it the acknowledgements).
    public let maximumBatch: Int

    public nonisolated var unownedExecutor: UnownedSerialExecutor { self.executor.asUnownedSerialExecutor() }

    init(connection: sending SQLiteConnection, executor: SerialThreadExecutor, maximumBatch: Int) {
        self.connection = connection
        self.executor = executor
        self.maximumBatch = max(1, maximumBatch)
    }

    /// Runs `body` as one write; returns once the transaction holding it
    /// has committed. Errors thrown by `body` come back unchanged, after
    /// the commit of the others (so a refusal that read another write of
    /// the batch is never reported before that write is durable).
    public nonisolated func write<T: Sendable>(
        _ body: nonisolated(nonsending) @Sendable (SQLiteConnection) async throws -> T
    ) async throws -> T {
        let (result, batch) = await self.run(body)
        try await batch.committed()
        return try result.get()
    }

    private func run<T: Sendable>(
        _ body: nonisolated(nonsending) @Sendable (SQLiteConnection) async throws -> T
    ) async -> (Result<T, any Error>, CommitBatch) {
        guard !self.bodyRunning else {
            let error = RPCError(
                code: .internal,
                message: "A SQLite write suspended inside its transaction; refusing to interleave another.")
            return (.failure(error), CommitBatch(finished: nil))
        }
        let batch: CommitBatch
        do {
            batch = try self.openBatch()
        } catch {
            return (.failure(error), CommitBatch(finished: nil))
        }
        self.bodyRunning = true
        let result: Result<T, any Error>
        do {
            try self.connection.execute("SAVEPOINT write")
            let value = try await body(self.connection)
            try self.connection.execute("RELEASE write")
            result = .success(value)
        } catch {
            if self.connection.isInTransaction {
                // Undo this write only; the batch's other writes stand.
                try? self.connection.execute("ROLLBACK TO write")
                try? self.connection.execute("RELEASE write")
            } else {
                // SQLite rolled the whole transaction back itself (a full
                // disk, an I/O error): every write of the batch is undone,
                // and each is told so with this error, not a later COMMIT's.
                self.batch?.finish(error)
                self.batch = nil
            }
            result = .failure(error)
        }
        self.bodyRunning = false
        self.writesInBatch += 1
        if self.writesInBatch >= self.maximumBatch { self.commit() }
        return (result, batch)
    }

    private func openBatch() throws -> CommitBatch {
        if let batch = self.batch { return batch }
        // IMMEDIATE takes the file's write lock now (waiting out another
        // process's, up to the busy timeout), so every read a decision
        // makes sees the latest commit.
        try self.connection.execute("BEGIN IMMEDIATE")
        let batch = CommitBatch()
        self.batch = batch
        self.writesInBatch = 0
        return batch
    }

    /// Commits the open transaction, if any, and wakes its writes.
    private func commit() {
        guard let batch = self.batch, !self.bodyRunning else { return }
        self.batch = nil
        do {
            try self.connection.execute("COMMIT")
            batch.finish(nil)
        } catch {
            try? self.connection.execute("ROLLBACK")
            batch.finish(error)
        }
    }

    /// Called on the writer's thread when its queue has drained.
    nonisolated func commitWhenIdle() {
        self.assumeIsolated { $0.commit() }
    }

    /// Commits what is open and closes the connection (the database is closing).
    func close() {
        self.commit()
        self.connection.close()
    }
}

/// The writes of one transaction, waiting for its commit.
final class CommitBatch: Sendable {
    private enum State {
        case open([CheckedContinuation<Void, any Error>])
        case finished((any Error)?)
    }

    private let state: Mutex<State>

    init() { self.state = Mutex(.open([])) }

    /// A batch that is already over (a write refused before it joined one).
    init(finished error: (any Error)?) { self.state = Mutex(.finished(error)) }

    /// Returns when the batch has committed; throws the commit's error.
    /// Not cancellable: a write's outcome is reported as it happened.
    func committed() async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let outcome: Result<Void, any Error>? = self.state.withLock { state in
                switch state {
                case .open(var waiting):
                    waiting.append(continuation)
                    state = .open(waiting)
                    return nil
                case .finished(let error):
                    return error.map { .failure($0) } ?? .success(())
                }
            }
            if let outcome { continuation.resume(with: outcome) }
        }
    }

    func finish(_ error: (any Error)?) {
        let waiting = self.state.withLock { state -> [CheckedContinuation<Void, any Error>] in
            guard case .open(let waiting) = state else { return [] }
            state = .finished(error)
            return waiting
        }
        for continuation in waiting {
            if let error { continuation.resume(throwing: error) } else { continuation.resume() }
        }
    }
}
