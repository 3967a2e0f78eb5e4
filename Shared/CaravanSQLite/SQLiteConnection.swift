import CSQLite
import Foundation

/// One SQLite connection and its prepared statements.
///
/// Not `Sendable`: a connection belongs to one thread at a time (it is
/// opened in SQLite's multi-thread mode, without SQLite's own mutexes).
/// ``SQLiteDatabase`` hands each thread its own reader and keeps the one
/// writer on the writer's thread.
///
/// Statements are prepared once per connection and kept (`SQLITE_PREPARE_PERSISTENT`),
/// keyed by their text: parsing and planning a statement costs more than
/// running a primary-key read, so a hot query is parsed on first use only.
public final class SQLiteConnection {
    public let path: String
    @usableFromInline let handle: OpaquePointer
    private var statements: [String: OpaquePointer] = [:]
    private var isClosed = false

    /// Opens (creating, unless `readOnly`) the database file at `path`;
    /// `busyTimeout` is how long a statement waits for another process's lock.
    public init(path: String, readOnly: Bool = false, busyTimeout: Duration = .seconds(5)) throws(SQLiteError) {
        var handle: OpaquePointer?
        let flags =
            (readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) | SQLITE_OPEN_NOMUTEX
        let code = sqlite3_open_v2(path, &handle, flags, nil)
        guard code == SQLITE_OK, let handle else {
            let error = SQLiteError(code, connection: handle)
            sqlite3_close_v2(handle)
            throw error
        }
        self.path = path
        self.handle = handle
        sqlite3_extended_result_codes(handle, 1)
        sqlite3_busy_timeout(
            handle,
            Int32(
                clamping: busyTimeout.components.seconds * 1000 + busyTimeout.components.attoseconds
                    / 1_000_000_000_000_000))
    }

    deinit { self.close() }

    /// Finalizes the statements and closes the file; later use fails.
    public func close() {
        guard !self.isClosed else { return }
        self.isClosed = true
        for statement in self.statements.values { sqlite3_finalize(statement) }
        self.statements.removeAll()
        sqlite3_close_v2(self.handle)
    }

    // MARK: Statements

    /// The prepared statement for `sql`, prepared on first use.
    @usableFromInline
    func prepared(_ sql: String) throws(SQLiteError) -> OpaquePointer {
        if let statement = self.statements[sql] { return statement }
        guard !self.isClosed else {
            throw SQLiteError(extendedCode: SQLITE_MISUSE, message: "The connection is closed.", sql: sql)
        }
        var statement: OpaquePointer?
        let code = sqlite3_prepare_v3(self.handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard code == SQLITE_OK, let statement else { throw SQLiteError(code, connection: self.handle, sql: sql) }
        self.statements[sql] = statement
        return statement
    }

    @usableFromInline
    func failure(_ code: Int32, _ statement: OpaquePointer) -> SQLiteError {
        SQLiteError(code, connection: self.handle, sql: sqlite3_sql(statement).map { String(cString: $0) })
    }

    /// Binds `values` to the statement's parameters, in order.
    @inlinable
    func bind<each V: SQLiteBindable>(_ statement: OpaquePointer, _ values: repeat each V) throws(SQLiteError) {
        var index: Int32 = 0
        for value in repeat each values {
            index += 1
            let code = value.bind(to: statement, at: index)
            guard code == SQLITE_OK else { throw self.failure(code, statement) }
        }
    }

    @inlinable
    func bind(_ statement: OpaquePointer, arguments: [SQLiteValue]) throws(SQLiteError) {
        for (offset, value) in arguments.enumerated() {
            let code = value.bind(to: statement, at: Int32(offset + 1))
            guard code == SQLITE_OK else { throw self.failure(code, statement) }
        }
    }

    /// Steps once: true with a row to read, false when done.
    @inlinable
    func step(_ statement: OpaquePointer) throws(SQLiteError) -> Bool {
        switch sqlite3_step(statement) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        case let code: throw self.failure(code, statement)
        }
    }

    // MARK: Running statements

    /// Runs a statement to the end, ignoring any rows.
    @inlinable
    public func execute<each V: SQLiteBindable>(_ sql: String, _ values: repeat each V) throws(SQLiteError) {
        let statement = try self.prepared(sql)
        defer { sqlite3_reset(statement) }
        try self.bind(statement, repeat each values)
        while try self.step(statement) {}
    }

    /// The first row, decoded; nil when there is none.
    @inlinable
    public func one<T, each V: SQLiteBindable>(
        _ sql: String, _ values: repeat each V, as decode: (SQLiteRow) throws -> T
    ) throws -> T? {
        let statement = try self.prepared(sql)
        defer { sqlite3_reset(statement) }
        try self.bind(statement, repeat each values)
        guard try self.step(statement) else { return nil }
        return try decode(SQLiteRow(statement: statement))
    }

    /// Every row, decoded.
    @inlinable
    public func all<T, each V: SQLiteBindable>(
        _ sql: String, _ values: repeat each V, as decode: (SQLiteRow) throws -> T
    ) throws -> [T] {
        let statement = try self.prepared(sql)
        defer { sqlite3_reset(statement) }
        try self.bind(statement, repeat each values)
        var rows: [T] = []
        while try self.step(statement) { rows.append(try decode(SQLiteRow(statement: statement))) }
        return rows
    }

    /// Every row, decoded, for a statement whose parameters are decided at run time.
    @inlinable
    public func all<T>(_ sql: String, arguments: [SQLiteValue], as decode: (SQLiteRow) throws -> T) throws -> [T] {
        let statement = try self.prepared(sql)
        defer { sqlite3_reset(statement) }
        try self.bind(statement, arguments: arguments)
        var rows: [T] = []
        while try self.step(statement) { rows.append(try decode(SQLiteRow(statement: statement))) }
        return rows
    }

    /// Runs a script of statements separated by semicolons (schema
    /// changes); nothing is cached or bound.
    public func executeScript(_ sql: String) throws(SQLiteError) {
        var message: UnsafeMutablePointer<CChar>?
        let code = sqlite3_exec(self.handle, sql, nil, nil, &message)
        defer { sqlite3_free(message) }
        guard code == SQLITE_OK else {
            throw SQLiteError(
                extendedCode: sqlite3_extended_errcode(self.handle),
                message: message.map { String(cString: $0) } ?? String(cString: sqlite3_errstr(code)), sql: sql)
        }
    }

    /// The row id of the last row inserted on this connection.
    public var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(self.handle) }

    /// Rows changed by the last INSERT, UPDATE or DELETE.
    public var changes: Int { Int(sqlite3_changes(self.handle)) }

    /// Whether a transaction is open on this connection.
    public var isInTransaction: Bool { sqlite3_get_autocommit(self.handle) == 0 }
}

extension SQLiteConnection {
    /// `sql` written with PostgreSQL's `$n` placeholders, as SQLite reads
    /// them (`?n`): one statement text for both stores where the dialects
    /// agree. (No `$` may appear in the statement but as a placeholder.)
    public static func numberedPlaceholders(_ sql: String) -> String {
        sql.replacingOccurrences(of: "$", with: "?")
    }
}
