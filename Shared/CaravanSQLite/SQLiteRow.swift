import CSQLite

/// The current row of a statement being stepped, read by column position
/// (from 0). Valid only inside the closure it is passed to: the next step
/// of the statement replaces what it reads.
public struct SQLiteRow {
    @usableFromInline let statement: OpaquePointer

    @usableFromInline
    init(statement: OpaquePointer) { self.statement = statement }

    public func isNull(_ column: Int32) -> Bool { sqlite3_column_type(self.statement, column) == SQLITE_NULL }

    public func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(self.statement, column) }

    public func int(_ column: Int32) -> Int { Int(sqlite3_column_int64(self.statement, column)) }

    public func bool(_ column: Int32) -> Bool { sqlite3_column_int64(self.statement, column) != 0 }

    public func double(_ column: Int32) -> Double { sqlite3_column_double(self.statement, column) }

    /// The column as text; "" for NULL.
    public func text(_ column: Int32) -> String {
        guard let pointer = sqlite3_column_text(self.statement, column) else { return "" }
        let count = Int(sqlite3_column_bytes(self.statement, column))
        return String(decoding: UnsafeBufferPointer(start: pointer, count: count), as: UTF8.self)
    }

    /// The column as text, nil for NULL.
    public func optionalText(_ column: Int32) -> String? { self.isNull(column) ? nil : self.text(column) }

    /// The column's bytes; empty for NULL.
    public func blob(_ column: Int32) -> [UInt8] {
        guard let pointer = sqlite3_column_blob(self.statement, column) else { return [] }
        let count = Int(sqlite3_column_bytes(self.statement, column))
        return [UInt8](UnsafeRawBufferPointer(start: pointer, count: count))
    }

    /// A column as a generic SQLite value (copying text and blobs).
    public func value(_ column: Int32) -> SQLiteValue {
        switch sqlite3_column_type(self.statement, column) {
        case SQLITE_INTEGER: .integer(self.int64(column))
        case SQLITE_FLOAT: .real(self.double(column))
        case SQLITE_TEXT: .text(self.text(column))
        case SQLITE_BLOB: .blob(self.blob(column))
        default: .null
        }
    }

    public var columnCount: Int32 { sqlite3_column_count(self.statement) }
}
