import CSQLite
import CaravanCore
import Foundation
import Synchronization
import Testing

@testable import CaravanSQLite

/// A database of one table, in a temporary file removed afterwards.
private func withDatabase<T: Sendable>(
    _ schema: String = "CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)",
    maximumBatch: Int = 128,
    _ body: (SQLiteDatabase) async throws -> T
) async throws -> T {
    let database = try SQLiteDatabase.temporary(migrations: [SQLiteMigration("test-schema", script: schema)])
    do {
        let result = try await body(database)
        await database.close()
        return result
    } catch {
        await database.close()
        throw error
    }
}

private func count(_ database: SQLiteDatabase, _ table: String = "item") throws -> Int64 {
    try database.read { try $0.one("SELECT COUNT(*) FROM \(table)") { $0.int64(0) } ?? 0 }
}

@Suite("SQLite: one writer with group commit, readers per thread")
struct SQLiteWriterTests {
    @Test("Concurrent writes all commit, and each is visible to any reader once it returns")
    func concurrentWrites() async throws {
        try await withDatabase { database in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<500 {
                    group.addTask {
                        try await database.write { connection in
                            try connection.execute("INSERT INTO item (name) VALUES (?)", "item \(index)")
                        }
                        // Acknowledged means committed: a reader on another connection sees it.
                        let seen = try database.read { connection in
                            try connection.one("SELECT 1 FROM item WHERE name = ?", "item \(index)") { _ in true }
                        }
                        #expect(seen == true)
                    }
                }
                try await group.waitForAll()
            }
            #expect(try count(database) == 500)
        }
    }

    @Test("A write that throws is rolled back alone; the others in its transaction commit")
    func failedWriteAlone() async throws {
        try await withDatabase { database in
            let outcomes = await withTaskGroup(of: Bool.self, returning: [Bool].self) { group in
                for index in 0..<50 {
                    group.addTask {
                        do {
                            try await database.write { connection in
                                try connection.execute("INSERT INTO item (name) VALUES (?)", "kept \(index)")
                                if index % 5 == 0 {
                                    // Half-done, then refused: the row above must go too.
                                    try connection.execute("INSERT INTO item (name) VALUES (?)", "kept \(index)")
                                }
                            }
                            return true
                        } catch {
                            #expect((error as? SQLiteError)?.isUniqueViolation == true, "\(error)")
                            return false
                        }
                    }
                }
                return await group.reduce(into: []) { $0.append($1) }
            }
            #expect(outcomes.filter { $0 }.count == 40)
            #expect(try count(database) == 40)
            let refused = try database.read { connection in
                try connection.one("SELECT COUNT(*) FROM item WHERE name IN ('kept 0', 'kept 5', 'kept 45')") {
                    $0.int64(0)
                }
            }
            #expect(refused == 0)
        }
    }

    @Test("A read never sees a write that has not committed, even from the writer's own thread")
    func readsSeeCommittedOnly() async throws {
        try await withDatabase { database in
            let seenInside = try await database.write { connection -> Int64 in
                try connection.execute("INSERT INTO item (name) VALUES ('half-applied')")
                // A reader (this thread's own connection) inside the write.
                return try count(database)
            }
            #expect(seenInside == 0)
            #expect(try count(database) == 1)
        }
    }

    @Test("A write whose commit fails is not acknowledged, and nothing of it is kept")
    func failedCommit() async throws {
        // A deferred foreign key is checked at COMMIT, not at the statement:
        // the orphan passes its own write and fails the transaction.
        let schema = """
            CREATE TABLE parent (id INTEGER PRIMARY KEY);
            CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,
                parent INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED)
            """
        try await withDatabase(schema) { database in
            await #expect(throws: SQLiteError.self) {
                try await database.write { connection in
                    try connection.execute("INSERT INTO item (name, parent) VALUES ('orphan', 42)")
                }
            }
            #expect(try count(database) == 0)
            // The writer goes on: the next transaction commits.
            try await database.write { connection in try connection.execute("INSERT INTO item (name) VALUES ('next')") }
            #expect(try count(database) == 1)
        }
    }

    @Test("Every write waiting on a transaction gets its commit's outcome")
    func batchOutcome() async throws {
        let committed = CommitBatch()
        let failed = CommitBatch()
        let waiting = [committed, committed, failed, failed].map { batch in Task { try await batch.committed() } }
        committed.finish(nil)
        failed.finish(SQLiteError(extendedCode: 10, message: "disk I/O error"))
        try await waiting[0].value
        try await waiting[1].value
        await #expect(throws: SQLiteError.self) { try await waiting[2].value }
        await #expect(throws: SQLiteError.self) { try await waiting[3].value }
        // A waiter arriving after the outcome gets it at once.
        try await committed.committed()
        await #expect(throws: SQLiteError.self) { try await failed.committed() }
    }

    @Test("A write that suspends inside its transaction is not interleaved with another; it still commits")
    func suspendedBody() async throws {
        try await withDatabase { database in
            let (started, startedContinuation) = AsyncStream.makeStream(of: Void.self)
            let gate = Gate()
            async let suspended: Void = database.write { connection in
                try connection.execute("INSERT INTO item (name) VALUES ('first')")
                startedContinuation.yield()
                await gate.wait()  // a real suspension: the writer is free meanwhile
                try connection.execute("INSERT INTO item (name) VALUES ('second')")
            }
            for await _ in started { break }
            let refused = await #expect(throws: RPCError.self) {
                try await database.write { connection in
                    try connection.execute("INSERT INTO item (name) VALUES ('interloper')")
                }
            }
            #expect(refused?.code == .internal)
            gate.open()
            try await suspended
            #expect(try count(database) == 2)
        }
    }

    @Test("A full disk refuses a write RESOURCE_EXHAUSTED, rolls it back whole, and later writes go on")
    func diskFull() async throws {
        try await withDatabase { database in
            // SQLite answers SQLITE_FULL at max_page_count exactly as it does on a full file system.
            let pages = try database.read { try $0.one("PRAGMA page_count") { $0.int64(0) } ?? 0 }
            try await database.write { try $0.executeScript("PRAGMA max_page_count = \(pages + 2)") }
            let large = String(repeating: "x", count: 64 * 1024)
            do {
                try await database.write { connection in
                    try connection.execute("INSERT INTO item (name) VALUES ('small')")
                    try connection.execute("INSERT INTO item (name) VALUES (?)", large)
                }
                Issue.record("the write fitted in \(pages + 2) pages")
            } catch let error as SQLiteError {
                #expect(error.code == SQLITE_FULL, "\(error)")
                #expect(error.rpcError.code == .resourceExhausted, "\(error.rpcError)")
                #expect(error.rpcError.message.contains("not done"))
            }
            #expect(try count(database) == 0, "the transaction's first row was rolled back with it")
            try await database.write { try $0.execute("INSERT INTO item (name) VALUES ('fits')") }
            #expect(try count(database) == 1)

            // Writes sharing a transaction with the one that filled the disk: each
            // is told what happened to it (acknowledged means stored, refused means not).
            let outcomes = await withTaskGroup(of: (String, Bool).self) { group in
                for index in 0..<20 {
                    group.addTask {
                        let name = index == 10 ? large : "small \(index)"
                        let stored: ()? = try? await database.write { connection in
                            try connection.execute("INSERT INTO item (name) VALUES (?)", name)
                        }
                        return (name, stored != nil)
                    }
                }
                return await group.reduce(into: [(String, Bool)]()) { $0.append($1) }
            }
            let names = try database.read { try $0.all("SELECT name FROM item") { $0.text(0) } }
            for (name, acknowledged) in outcomes where name != large {
                #expect(names.contains(name) == acknowledged, "\(name): acknowledged \(acknowledged)")
            }
            #expect(!names.contains(large))
        }
    }

    @Test("A long read offloaded runs on another thread than the caller's")
    func offloaded() async throws {
        try await withDatabase { database in
            let caller = pthread_self()
            let elsewhere = try await database.readOffloaded { _ in pthread_equal(pthread_self(), caller) == 0 }
            #expect(elsewhere)
        }
    }
}

/// Holds a write's body until the test opens it.
private final class Gate: Sendable {
    private let state = Mutex<(open: Bool, waiting: CheckedContinuation<Void, Never>?)>((false, nil))

    func wait() async {
        await withCheckedContinuation { continuation in
            let resume = self.state.withLock { state -> Bool in
                if state.open { return true }
                state.waiting = continuation
                return false
            }
            if resume { continuation.resume() }
        }
    }

    func open() {
        let waiting = self.state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.open = true
            defer { state.waiting = nil }
            return state.waiting
        }
        waiting?.resume()
    }
}
