import CaravanSQLite
import Foundation
import Testing

@Suite("SQLite: migrations")
struct SQLiteMigratorTests {
    static func temporaryPath() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("caravan-migrator-\(UUID().uuidString).sqlite")
            .path
    }

    @Test("Each migration runs once per file, in order, and is recorded by name")
    func once() async throws {
        let path = Self.temporaryPath()
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let migrations = [
            SQLiteMigration("one", script: "CREATE TABLE one (id INTEGER PRIMARY KEY)"),
            SQLiteMigration("two") { db in try db.execute("INSERT INTO one (id) VALUES (1)") },
        ]
        let connection = try SQLiteConnection(path: path)
        #expect(try SQLiteMigrator.migrate(migrations, on: connection) == ["one", "two"])
        // A second run finds both done (CREATE TABLE and the insert would fail if run again).
        #expect(try SQLiteMigrator.migrate(migrations, on: connection) == [])
        #expect(try connection.one("SELECT COUNT(*) FROM one") { $0.int64(0) } == 1)
    }

    @Test("A file migrated by GRDB's migrator keeps its history: what it recorded is not run again")
    func grdbHistory() throws {
        let path = Self.temporaryPath()
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let connection = try SQLiteConnection(path: path)
        // What GRDB left behind: its table, with the applied identifiers.
        try connection.executeScript(
            """
            CREATE TABLE grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY);
            INSERT INTO grdb_migrations VALUES ('one');
            CREATE TABLE one (id INTEGER PRIMARY KEY);
            """)
        let migrations = [
            SQLiteMigration("one", script: "CREATE TABLE one (id INTEGER PRIMARY KEY)"),
            SQLiteMigration("two", script: "CREATE TABLE two (id INTEGER PRIMARY KEY)"),
        ]
        #expect(try SQLiteMigrator.migrate(migrations, on: connection) == ["two"])
    }

    @Test("A migration that fails leaves nothing of itself and is not recorded")
    func failing() throws {
        let path = Self.temporaryPath()
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let connection = try SQLiteConnection(path: path)
        let broken = SQLiteMigration("broken") { db in
            try db.executeScript("CREATE TABLE half (id INTEGER PRIMARY KEY)")
            try db.executeScript("INSERT INTO missing VALUES (1)")
        }
        #expect(throws: SQLiteError.self) { try SQLiteMigrator.migrate([broken], on: connection) }
        #expect(try connection.one("SELECT COUNT(*) FROM sqlite_master WHERE name = 'half'") { $0.int64(0) } == 0)
        #expect(try connection.one("SELECT COUNT(*) FROM grdb_migrations") { $0.int64(0) } == 0)
    }
}
