import CSQLite
import Foundation
import Synchronization

/// How hard SQLite works to keep a commit.
public enum SQLiteDurability: String, Sendable, CaseIterable {
    /// fsync on every commit: a commit survives power loss.
    case full
    /// fsync at checkpoints: a commit survives a crash of the process
    /// (kill -9), not necessarily of the machine.
    case normal
}

/// A service's SQLite database file in WAL mode: one writer, and a reader
/// per thread that reads.
///
/// - ``read(_:)`` runs on the calling thread, synchronously, on that
///   thread's own connection, inside one read transaction: a point read
///   costs a few microseconds and no thread hop. WAL lets readers run
///   beside the writer and shows each only committed transactions, so a
///   read never sees half a write. Called from a server's event loop it
///   must be short (a primary key, an index range of a page, a maintained
///   total); ``readOffloaded(_:)`` runs longer reads on a thread of their
///   own, so they do not stall the other calls of that event loop.
/// - ``write(_:)`` runs on the ``SQLiteWriter``'s thread and returns after
///   the commit (group commit: one fsync for the writes that arrive together).
public final class SQLiteDatabase: Sendable {
    public let path: String
    public let durability: SQLiteDurability
    public let writer: SQLiteWriter
    private let executor: SerialThreadExecutor
    private let id: UInt64
    private let readers = Mutex<[ReaderSlot]>([])
    private let isClosed = Atomic<Bool>(false)
    private let removeOnClose: Bool

    private static let nextID = Atomic<UInt64>(1)

    /// Opens (creating if needed) the database at `path`, in WAL mode, and
    /// brings it up to `migrations`.
    public static func open(
        path: String, durability: SQLiteDurability = .full, migrations: [SQLiteMigration], maximumBatch: Int = 128
    ) throws -> SQLiteDatabase {
        try SQLiteDatabase(
            path: path, durability: durability, migrations: migrations, maximumBatch: maximumBatch, removeOnClose: false
        )
    }

    /// Opens `<directory>/<name>.sqlite`, creating the directory if needed.
    public static func open(
        directory: String, name: String, durability: SQLiteDurability = .full, migrations: [SQLiteMigration]
    ) throws -> SQLiteDatabase {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = URL(fileURLWithPath: directory).appendingPathComponent("\(name).sqlite").path
        return try Self.open(path: path, durability: durability, migrations: migrations)
    }

    /// A new database in a file of its own under the temporary directory,
    /// removed by ``close()`` (tests). Without fsync.
    public static func temporary(migrations: [SQLiteMigration]) throws -> SQLiteDatabase {
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("caravan-\(UUID().uuidString).sqlite").path
        return try SQLiteDatabase(
            path: path, durability: .normal, migrations: migrations, maximumBatch: 128, removeOnClose: true)
    }

    private init(
        path: String, durability: SQLiteDurability, migrations: [SQLiteMigration], maximumBatch: Int,
        removeOnClose: Bool
    ) throws {
        let connection = try SQLiteConnection(path: path)
        try connection.executeScript("PRAGMA journal_mode = WAL")
        try connection.executeScript("PRAGMA synchronous = \(durability == .full ? "FULL" : "NORMAL")")
        try connection.executeScript("PRAGMA foreign_keys = ON")
        try SQLiteMigrator.migrate(migrations, on: connection)
        self.path = path
        self.durability = durability
        self.removeOnClose = removeOnClose
        self.id = Self.nextID.wrappingAdd(1, ordering: .relaxed).oldValue
        let executor = SerialThreadExecutor(name: "sqlite-writer")
        self.executor = executor
        let writer = SQLiteWriter(connection: connection, executor: executor, maximumBatch: maximumBatch)
        self.writer = writer
        executor.thread.setIdleHandler { [weak writer] in writer?.commitWhenIdle() }
    }

    deinit {
        if !self.isClosed.load(ordering: .relaxed) { self.executor.thread.shutdown() }
    }

    /// Runs `body` as one write on the writer (see ``SQLiteWriter``).
    public func write<T: Sendable>(
        _ body: nonisolated(nonsending) @Sendable (SQLiteConnection) async throws -> T
    ) async throws -> T {
        try await self.writer.write(body)
    }

    /// Runs `body` on the calling thread's reader, in one read transaction.
    public func read<T>(_ body: (SQLiteConnection) throws -> T) throws -> T {
        try self.reader().withConnection { connection in
            try connection.execute("BEGIN")
            do {
                let value = try body(connection)
                try connection.execute("COMMIT")
                return value
            } catch {
                try? connection.execute("ROLLBACK")
                throw error
            }
        }
    }

    /// Runs `body` as ``read(_:)`` does, on a thread of the shared read
    /// pool rather than the caller's: for reads whose cost grows with the
    /// data (listings that filter, exports, histories).
    public func readOffloaded<T: Sendable>(_ body: @Sendable (SQLiteConnection) throws -> T) async throws -> T {
        try await withTaskExecutorPreference(SQLiteReadPool.shared.next()) {
            try self.read(body)
        }
    }

    /// Commits what the writer holds, stops its thread and closes every
    /// connection; reads and writes fail afterwards. Call once nothing is
    /// reading or writing.
    public func close() async {
        guard !self.isClosed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        await self.writer.close()
        self.executor.thread.shutdown()
        for slot in self.readers.withLock({ $0 }) { slot.close() }
        if self.removeOnClose {
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: self.path + suffix) }
        }
    }

    /// This thread's reader, opened on its first read.
    private func reader() throws -> ReaderSlot {
        let local = ThreadReaders.current
        if let slot = local.slots[self.id] { return slot }
        guard !self.isClosed.load(ordering: .acquiring) else {
            throw SQLiteError(extendedCode: SQLITE_MISUSE, message: "The database is closed.")
        }
        let connection = try SQLiteConnection(path: self.path)
        try connection.executeScript("PRAGMA query_only = 1")
        let slot = ReaderSlot(connection)
        self.readers.withLock { $0.append(slot) }
        local.slots = local.slots.filter { !$0.value.isClosed }
        local.slots[self.id] = slot
        return slot
    }
}

/// One thread's reader of one database. Used by that thread only, except
/// ``close()``, which the lock makes safe from any thread.
final class ReaderSlot: @unchecked Sendable {
    // @unchecked Sendable: `connection` is read and replaced only with
    // `lock` held.
    private let lock = NSLock()
    private var connection: SQLiteConnection?

    init(_ connection: SQLiteConnection) { self.connection = connection }

    var isClosed: Bool {
        self.lock.lock()
        defer { self.lock.unlock() }
        return self.connection == nil
    }

    func withConnection<T>(_ body: (SQLiteConnection) throws -> T) throws -> T {
        self.lock.lock()
        defer { self.lock.unlock() }
        guard let connection = self.connection else {
            throw SQLiteError(extendedCode: SQLITE_MISUSE, message: "The database is closed.")
        }
        return try body(connection)
    }

    func close() {
        self.lock.lock()
        defer { self.lock.unlock() }
        self.connection?.close()
        self.connection = nil
    }
}

/// The readers of the current thread, one per database, in thread-local
/// storage (one key for the process, whatever the number of databases).
final class ThreadReaders {
    var slots: [UInt64: ReaderSlot] = [:]

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { pointer in
            if let pointer { Unmanaged<ThreadReaders>.fromOpaque(pointer).release() }
        }
        return key
    }()

    static var current: ThreadReaders {
        if let pointer = pthread_getspecific(Self.key) {
            return Unmanaged<ThreadReaders>.fromOpaque(pointer).takeUnretainedValue()
        }
        let readers = ThreadReaders()
        pthread_setspecific(Self.key, Unmanaged.passRetained(readers).toOpaque())
        return readers
    }
}

/// The threads that run reads too long for an event loop, shared by every
/// database of the process.
public final class SQLiteReadPool: Sendable {
    private let executors: [TaskThreadExecutor]
    private let turn = Atomic<Int>(0)

    /// As many threads as cores, at least two.
    public static let shared = SQLiteReadPool(threads: max(2, ProcessInfo.processInfo.activeProcessorCount))

    init(threads: Int) {
        self.executors = (0..<threads).map { TaskThreadExecutor(name: "sqlite-read-\($0)") }
    }

    func next() -> TaskThreadExecutor {
        self.executors[self.turn.wrappingAdd(1, ordering: .relaxed).oldValue % self.executors.count]
    }
}
