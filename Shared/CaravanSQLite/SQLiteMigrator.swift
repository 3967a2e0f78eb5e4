/// One step of a service's SQLite schema or seed: applied once per
/// database file, in order, inside a transaction, and recorded by name.
public struct SQLiteMigration: Sendable {
    public var name: String
    public var apply: @Sendable (SQLiteConnection) throws -> Void

    public init(_ name: String, apply: @escaping @Sendable (SQLiteConnection) throws -> Void) {
        self.name = name
        self.apply = apply
    }

    /// A migration of one script of statements.
    public init(_ name: String, script: String) {
        self.init(name) { connection in try connection.executeScript(script) }
    }
}

/// Brings a database file up to a service's migrations.
///
/// Applied migrations are recorded in `grdb_migrations`, the table GRDB's
/// migrator kept before this one replaced it, so data files written by
/// earlier releases open with their history intact. Each migration runs in
/// an IMMEDIATE transaction: two processes opening one new file at once
/// apply each step once (the second waits for the lock, then finds it done).
public enum SQLiteMigrator {
    /// Applies the migrations not yet recorded; answers their names.
    @discardableResult
    public static func migrate(_ migrations: [SQLiteMigration], on connection: SQLiteConnection) throws -> [String] {
        try connection.executeScript(
            "CREATE TABLE IF NOT EXISTS grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY)")
        var ran: [String] = []
        for migration in migrations {
            try connection.executeScript("BEGIN IMMEDIATE")
            do {
                let applied =
                    try connection.one(
                        "SELECT 1 FROM grdb_migrations WHERE identifier = ?", migration.name
                    ) { _ in true } ?? false
                if !applied {
                    try migration.apply(connection)
                    try connection.execute("INSERT INTO grdb_migrations (identifier) VALUES (?)", migration.name)
                    ran.append(migration.name)
                }
                try connection.executeScript("COMMIT")
            } catch {
                try? connection.executeScript("ROLLBACK")
                throw error
            }
        }
        return ran
    }
}
