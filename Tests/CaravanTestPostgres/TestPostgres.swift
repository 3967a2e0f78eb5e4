import CaravanCore
import CaravanPostgres
import Foundation
import Logging
import PostgresNIO

/// The PostgreSQL the tests use, when there is one: `CARAVAN_TEST_POSTGRES_URL`
/// names a server where the tests may create and drop databases
/// (`eval "$(Tests/postgres/start.sh)"` starts one on loopback; `.ci/run`
/// does that). Each test gets a database of its own.
public enum TestPostgres {
    /// The admin URL, when set.
    public static var url: String? {
        ProcessInfo.processInfo.environment["CARAVAN_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// `CARAVAN_REQUIRE_POSTGRES=1` (CI) makes a missing server a failure
    /// instead of a skip.
    public static var isRequired: Bool {
        ProcessInfo.processInfo.environment["CARAVAN_REQUIRE_POSTGRES"] == "1"
    }

    /// Whether PostgreSQL tests run: a server is configured, or CI requires one.
    public static var isEnabled: Bool { Self.url != nil || Self.isRequired }

    /// Why PostgreSQL tests were skipped, for `.enabled(if:_:)`.
    public static let skipReason =
        "PostgreSQL tests skipped: set CARAVAN_TEST_POSTGRES_URL (eval \"$(Tests/postgres/start.sh)\" starts a server on loopback)"

    static let logger = Logger(label: "caravan.test.postgres", factory: { _ in SwiftLogNoOpLogHandler() })

    /// Creates an empty database, passes its settings to `body`, then drops it.
    public static func withFreshDatabase<T: Sendable>(
        _ body: (PostgresSettings) async throws -> T
    ) async throws -> T {
        guard let url = Self.url else {
            throw RPCError(code: .failedPrecondition, message: Self.skipReason)
        }
        let admin = try PostgresSettings(url: url)
        let name = "caravan_test_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        try await Self.withAdmin(admin) { connection in
            try await connection.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: Self.logger)
        }
        var settings = admin
        settings.database = name
        // Generous: debug builds on a busy two-core machine open connections
        // slowly (SCRAM's key derivation), and a test must not fail on that.
        // Tests of the timeout itself set their own.
        settings.callTimeout = .seconds(30)
        settings.redactedURL = PostgresSettings.redact(url) + " (database \(name))"
        do {
            let result = try await body(settings)
            try await Self.drop(name, admin: admin)
            return result
        } catch {
            try? await Self.drop(name, admin: admin)
            throw error
        }
    }

    /// Runs a client on `settings` (one "replica"), applies `migrations`,
    /// passes it to `body`, and stops it.
    public static func withDatabase<T: Sendable>(
        _ settings: PostgresSettings,
        migrations: [PostgresMigration],
        _ body: (PostgresPool) async throws -> T
    ) async throws -> T {
        let database = try PostgresPool(settings: settings, logger: Self.logger)
        let running = Task { await database.run() }
        do {
            try await database.migrate(migrations)
            let result = try await body(database)
            await Self.stop(running)
            return result
        } catch {
            await Self.stop(running)
            throw error
        }
    }

    /// Cancels a pool's `run()` and waits for it to end (which it bounds).
    static func stop(_ running: Task<Void, Never>) async {
        running.cancel()
        await running.value
    }

    /// A fresh database with `migrations` applied, through one client.
    public static func withMigratedDatabase<T: Sendable>(
        _ migrations: [PostgresMigration],
        _ body: (PostgresPool) async throws -> T
    ) async throws -> T {
        try await Self.withFreshDatabase { settings in
            try await Self.withDatabase(settings, migrations: migrations, body)
        }
    }

    /// A `postgres://` URL for the database `settings` names (to pass to an executable).
    public static func url(for settings: PostgresSettings) -> String {
        let password = settings.password.map { ":" + ($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? $0) } ?? ""
        return "postgres://\(settings.username)\(password)@\(settings.host):\(settings.port)/\(settings.database)"
    }

    /// Runs `sql` as the admin user (e.g. to cut a test database off).
    public static func executeAsAdmin(_ sql: String) async throws {
        guard let url = Self.url else { throw RPCError(code: .failedPrecondition, message: Self.skipReason) }
        try await Self.withAdmin(try PostgresSettings(url: url)) { connection in
            try await connection.query(PostgresQuery(unsafeSQL: sql), logger: Self.logger)
        }
    }

    /// What a service sees when its database goes away: new connections
    /// to `database` refused, the open ones dropped.
    public static func cutOff(_ database: String) async throws {
        try await Self.executeAsAdmin("ALTER DATABASE \(database) ALLOW_CONNECTIONS false")
        try await Self.executeAsAdmin(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '\(database)'")
    }

    /// Lets connections to `database` in again after ``cutOff(_:)``.
    public static func restore(_ database: String) async throws {
        try await Self.executeAsAdmin("ALTER DATABASE \(database) ALLOW_CONNECTIONS true")
    }

    static func drop(_ name: String, admin: PostgresSettings) async throws {
        try await Self.withAdmin(admin) { connection in
            try await connection.query(
                PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(name) WITH (FORCE)"), logger: Self.logger)
        }
    }

    static func withAdmin(_ settings: PostgresSettings, _ body: (PostgresConnection) async throws -> Void) async throws {
        let connection = try await PostgresConnection.connect(
            configuration: .init(
                host: settings.host, port: settings.port, username: settings.username, password: settings.password,
                database: settings.database, tls: .disable),
            id: 1, logger: Self.logger)
        do {
            try await body(connection)
            try await connection.close()
        } catch {
            try? await connection.close()
            throw error
        }
    }
}

/// Which storage a behaviour test runs on.
public enum StoreBackend: String, Sendable, CustomStringConvertible {
    case sqlite
    case postgres

    public var description: String { self.rawValue }

    /// SQLite always; PostgreSQL when a server is configured (or required).
    public static var available: [StoreBackend] {
        TestPostgres.isEnabled ? [.sqlite, .postgres] : [.sqlite]
    }
}
