import CSQLite
import CaravanCore

/// A failure reported by SQLite: its extended result code and message.
public struct SQLiteError: Error, CustomStringConvertible, RPCErrorConvertible {
    /// The extended result code (`SQLITE_CONSTRAINT_UNIQUE`, `SQLITE_BUSY_SNAPSHOT`, …).
    public var extendedCode: Int32
    public var message: String
    /// The statement that failed, when there was one.
    public var sql: String?

    public init(extendedCode: Int32, message: String, sql: String? = nil) {
        self.extendedCode = extendedCode
        self.message = message
        self.sql = sql
    }

    init(_ code: Int32, connection: OpaquePointer?, sql: String? = nil) {
        let message =
            connection.flatMap { sqlite3_errmsg($0) }.map { String(cString: $0) }
            ?? String(cString: sqlite3_errstr(code))
        let extended = connection.map { sqlite3_extended_errcode($0) } ?? code
        self.init(extendedCode: extended, message: message, sql: sql)
    }

    /// The primary result code (`SQLITE_BUSY`, `SQLITE_CONSTRAINT`, …).
    public var code: Int32 { self.extendedCode & 0xFF }

    /// A UNIQUE or PRIMARY KEY constraint refused the row. (The extended
    /// codes are C macros Swift cannot import: SQLITE_CONSTRAINT | 8 << 8
    /// and | 6 << 8.)
    public var isUniqueViolation: Bool {
        self.extendedCode == SQLITE_CONSTRAINT | (8 << 8) || self.extendedCode == SQLITE_CONSTRAINT | (6 << 8)
    }

    public var description: String {
        "SQLite error \(self.extendedCode): \(self.message)" + (self.sql.map { " (in \($0))" } ?? "")
    }

    /// UNAVAILABLE while the file is locked by another process or the
    /// disk refuses (worth retrying, perhaps on another replica);
    /// RESOURCE_EXHAUSTED when the disk is full: the transaction rolled
    /// back, so the client knows the write was not done and may try later;
    /// ALREADY_EXISTS for a unique key no rule caught first, as PostgreSQL's
    /// 23505 maps; INTERNAL for the rest (a bug, or a damaged file).
    public var rpcError: RPCError {
        switch self.code {
        case SQLITE_BUSY, SQLITE_LOCKED:
            return RPCError(code: .unavailable, message: "The database is busy; try again.", cause: self)
        case SQLITE_FULL:
            return RPCError(
                code: .resourceExhausted, message: "The disk is full: the write was not done; try again later.",
                cause: self)
        case SQLITE_IOERR, SQLITE_CANTOPEN, SQLITE_READONLY:
            return RPCError(code: .unavailable, message: "The database cannot be written: \(self.message)", cause: self)
        case SQLITE_CONSTRAINT where self.isUniqueViolation:
            return RPCError(code: .alreadyExists, message: "Already exists: \(self.message)", cause: self)
        default:
            return RPCError(code: .internal, message: "Storage failed: \(self.message)", cause: self)
        }
    }
}
