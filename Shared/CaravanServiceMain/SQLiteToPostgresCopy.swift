import CaravanCore
import CaravanPostgres
import CaravanSQLite
import Foundation
import Logging
import PostgresNIO

/// Moves a service's data from its SQLite file into PostgreSQL, all or
/// nothing, and proves it by counting.
///
/// One PostgreSQL transaction applies the service's migrations (creating
/// the schema and seed if the database is new), empties the service's
/// tables, copies every row column by column — the two schemas share table
/// and column names; SQLite's 0/1 flags become BOOLEANs — moves each
/// identity sequence past the largest copied id, and compares every table's
/// row count with SQLite's before it commits. A mismatch rolls everything
/// back. The totals the services maintain are tables like the others.
public struct SQLiteToPostgresCopy: Sendable {
    /// The tables to copy, parents before children (foreign keys).
    public var tables: [String]

    public init(tables: [String]) {
        self.tables = tables
    }

    /// One table's rows on each side after the copy.
    public struct TableCount: Sendable, Equatable {
        public var table: String
        public var sqlite: Int64
        public var postgres: Int64
    }

    /// Rows per INSERT: well under PostgreSQL's 65,535 parameters per statement.
    static let batchRows = 500

    /// Copies `source` into the database `pool` reaches; answers each
    /// table's counts. Without `replace`, refuses a PostgreSQL database that
    /// already has this service's schema (a replica may be serving from it).
    public func run(
        from source: SQLiteDatabase,
        to pool: PostgresPool,
        migrations: [PostgresMigration],
        replace: Bool,
        logger: Logger
    ) async throws -> [TableCount] {
        await pool.waitUntilRunning()
        return try await pool.client.withConnection { connection in
            if !replace, try await Self.hasApplied(migrations, connection, logger) {
                throw RPCError(
                    code: .failedPrecondition,
                    message:
                        "The PostgreSQL database already holds this service's schema. Stop the replicas that use it and run again with --replace to overwrite its data with the SQLite file's."
                )
            }
            return try await connection.withTransaction(logger: logger) { connection in
                try await PostgresMigrator.migrateInTransaction(migrations, on: connection, logger: logger)
                try await connection.query(
                    PostgresQuery(
                        unsafeSQL: "TRUNCATE \(self.tables.joined(separator: ", ")) RESTART IDENTITY CASCADE"),
                    logger: logger)
                for table in self.tables {
                    let copied = try await Self.copy(table, from: source, connection, logger)
                    logger.info("Copied", metadata: ["table": "\(table)", "rows": "\(copied)"])
                    try await Self.advanceIdentities(of: table, connection, logger)
                }
                var counts: [TableCount] = []
                for table in self.tables {
                    let sqlite = try source.read { db in
                        try db.one("SELECT COUNT(*) FROM \(table)") { $0.int64(0) } ?? 0
                    }
                    let postgres = try await Self.count(table, connection, logger)
                    counts.append(TableCount(table: table, sqlite: sqlite, postgres: postgres))
                }
                let mismatched = counts.filter { $0.sqlite != $0.postgres }
                guard mismatched.isEmpty else {
                    throw RPCError(
                        code: .dataLoss,
                        message: "Row counts differ after the copy, so nothing was committed: "
                            + mismatched.map { "\($0.table) SQLite \($0.sqlite) vs PostgreSQL \($0.postgres)" }
                            .joined(separator: "; "))
                }
                return counts
            }
        }
    }

    /// Whether any of the service's migrations already ran on this database.
    static func hasApplied(_ migrations: [PostgresMigration], _ connection: PostgresConnection, _ logger: Logger)
        async throws -> Bool
    {
        for try await exists in try await connection.query(
            "SELECT to_regclass('caravan_migration') IS NOT NULL", logger: logger
        ).decode(Bool.self) where !exists {
            return false
        }
        for try await applied in try await connection.query(
            "SELECT COUNT(*) FROM caravan_migration WHERE name = ANY(\(migrations.map(\.name)))", logger: logger
        ).decode(Int64.self) {
            return applied > 0
        }
        return false
    }

    static func count(_ table: String, _ connection: PostgresConnection, _ logger: Logger) async throws -> Int64 {
        for try await count in try await connection.query(
            PostgresQuery(unsafeSQL: "SELECT COUNT(*) FROM \(table)"), logger: logger
        ).decode(Int64.self) {
            return count
        }
        return 0
    }

    /// A PostgreSQL column and what its SQLite values become.
    struct Column {
        var name: String
        var kind: Kind
        enum Kind { case integer, real, boolean, bytes, text }
    }

    static func columns(of table: String, _ connection: PostgresConnection, _ logger: Logger) async throws -> [Column] {
        var columns: [Column] = []
        for try await (name, type) in try await connection.query(
            """
            SELECT column_name, data_type FROM information_schema.columns
            WHERE table_schema = current_schema() AND table_name = \(table) ORDER BY ordinal_position
            """, logger: logger
        ).decode((String, String).self) {
            let kind: Column.Kind
            switch type {
            case "bigint", "integer", "smallint": kind = .integer
            case "double precision", "real", "numeric": kind = .real
            case "boolean": kind = .boolean
            case "bytea": kind = .bytes
            case "text", "character varying": kind = .text
            default:
                throw RPCError(
                    code: .internal, message: "\(table).\(name) has type \(type), which the copy does not know.")
            }
            columns.append(Column(name: name, kind: kind))
        }
        guard !columns.isEmpty else {
            throw RPCError(code: .internal, message: "PostgreSQL has no table \(table) after the migrations.")
        }
        return columns
    }

    /// Copies one table in batches; answers the rows copied.
    static func copy(
        _ table: String, from source: SQLiteDatabase, _ connection: PostgresConnection, _ logger: Logger
    ) async throws -> Int {
        let columns = try await Self.columns(of: table, connection, logger)
        let names = columns.map(\.name).joined(separator: ", ")
        // Rows are read in batches by keyset on SQLite's rowid where there
        // is one, so memory stays bounded for million-row tables.
        let hasRowID = try source.read { db in
            let definition = try db.one("SELECT sql FROM sqlite_master WHERE name = ?", table) { $0.text(0) }
            return !(definition ?? "").uppercased().contains("WITHOUT ROWID")
        }
        var copied = 0
        var lastRowID: Int64 = .min
        var offset = 0
        while true {
            let (after, skip) = (lastRowID, offset)
            let (rows, last) = try source.read { db -> ([[SQLiteValue]], Int64) in
                let sql =
                    hasRowID
                    ? "SELECT rowid, \(names) FROM \(table) WHERE rowid > \(after) ORDER BY rowid LIMIT \(Self.batchRows)"
                    : "SELECT 0, \(names) FROM \(table) LIMIT \(Self.batchRows) OFFSET \(skip)"
                var last = after
                let rows = try db.all(sql, arguments: []) { row -> [SQLiteValue] in
                    last = row.int64(0)
                    return (1..<row.columnCount).map { row.value($0) }
                }
                return (rows, last)
            }
            guard !rows.isEmpty else { return copied }
            try await Self.insert(rows, into: table, columns: columns, connection, logger)
            copied += rows.count
            offset += rows.count
            lastRowID = last
        }
    }

    static func insert(
        _ rows: [[SQLiteValue]], into table: String, columns: [Column], _ connection: PostgresConnection,
        _ logger: Logger
    ) async throws {
        var binds = PostgresBindings(capacity: rows.count * columns.count)
        var tuples: [String] = []
        tuples.reserveCapacity(rows.count)
        for row in rows {
            var placeholders: [String] = []
            for (column, value) in zip(columns, row) {
                try Self.bind(value, as: column, table: table, into: &binds)
                placeholders.append("$\(binds.count)")
            }
            tuples.append("(" + placeholders.joined(separator: ", ") + ")")
        }
        let sql =
            "INSERT INTO \(table) (\(columns.map(\.name).joined(separator: ", "))) VALUES "
            + tuples.joined(separator: ", ")
        try await connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger)
    }

    static func bind(_ value: SQLiteValue, as column: Column, table: String, into binds: inout PostgresBindings) throws
    {
        switch (column.kind, value) {
        case (_, .null): binds.appendNull()
        case (.integer, .integer(let number)): binds.append(number)
        case (.real, .integer(let number)): binds.append(Double(number))
        case (.real, .real(let number)): binds.append(number)
        case (.boolean, .integer(let number)): binds.append(number != 0)
        case (.bytes, .blob(let bytes)): try binds.append(Data(bytes))
        case (.text, .text(let text)): binds.append(text)
        default:
            throw RPCError(
                code: .internal,
                message: "\(table).\(column.name) holds \(value) in SQLite, which does not fit \(column.kind).")
        }
    }

    /// Moves each identity column's sequence past the largest copied value,
    /// so the next row inserted on PostgreSQL does not reuse an id.
    static func advanceIdentities(of table: String, _ connection: PostgresConnection, _ logger: Logger) async throws {
        var identities: [String] = []
        for try await column in try await connection.query(
            """
            SELECT column_name FROM information_schema.columns
            WHERE table_schema = current_schema() AND table_name = \(table) AND is_identity = 'YES'
            """, logger: logger
        ).decode(String.self) {
            identities.append(column)
        }
        for column in identities {
            _ = try await connection.query(
                PostgresQuery(
                    unsafeSQL: """
                        SELECT setval(pg_get_serial_sequence('\(table)', '\(column)'), GREATEST(MAX(\(column)), 1), MAX(\(column)) IS NOT NULL)
                        FROM \(table)
                        """), logger: logger
            ).collect()
        }
    }
}
