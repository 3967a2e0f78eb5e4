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

    /// The admin settings; throws (failing the test) when no server is configured.
    static func adminSettings() throws -> PostgresSettings {
        guard let url = Self.url else {
            throw RPCError(code: .failedPrecondition, message: Self.skipReason)
        }
        return try PostgresSettings(url: url)
    }

    /// Creates an empty database, passes its settings to `body`, then drops it.
    public static func withFreshDatabase<T: Sendable>(
        _ body: (PostgresSettings) async throws -> T
    ) async throws -> T {
        try await Self.withNewDatabase(template: nil, body)
    }

    /// A database of its own with `migrations` already applied, as a copy of
    /// a template migrated once per test process (``TemplateDatabases``).
    public static func withMigratedCopy<T: Sendable>(
        _ migrations: [PostgresMigration], _ body: (PostgresSettings) async throws -> T
    ) async throws -> T {
        let template = try await TemplateDatabases.shared.template(for: migrations, admin: try Self.adminSettings())
        return try await Self.withNewDatabase(template: template, body)
    }

    static func withNewDatabase<T: Sendable>(
        template: String?, _ body: (PostgresSettings) async throws -> T
    ) async throws -> T {
        let admin = try Self.adminSettings()
        let name = Self.uniqueName("caravan_test")
        let source = template.map { " TEMPLATE \($0)" } ?? ""
        _ = try await Self.withAdmin(admin) { connection in
            try await connection.query(
                PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)\(source)"), logger: Self.logger)
        }
        var settings = admin
        settings.database = name
        // Generous: debug builds on a busy two-core machine open connections
        // slowly (SCRAM's key derivation), and a test must not fail on that.
        // Tests of the timeout itself set their own.
        settings.callTimeout = .seconds(30)
        settings.redactedURL = admin.redactedURL + " (database \(name))"
        do {
            let result = try await body(settings)
            try await Self.drop(name, admin: admin)
            return result
        } catch {
            try? await Self.drop(name, admin: admin)
            throw error
        }
    }

    static func uniqueName(_ prefix: String) -> String {
        prefix + "_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
    }

    /// Runs a client on `settings` (one "replica"), applies `migrations`,
    /// passes it to `body`, and stops it.
    public static func withDatabase<T: Sendable>(
        _ settings: PostgresSettings,
        migrations: [PostgresMigration],
        metrics: PostgresPoolMetrics = PostgresPoolMetrics(),
        _ body: (PostgresPool) async throws -> T
    ) async throws -> T {
        let database = try PostgresPool(settings: settings, logger: Self.logger, metrics: metrics)
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

    /// A database of its own with `migrations` applied, through one client.
    /// The client still runs `migrations` at start, as a service does, and
    /// finds them applied.
    public static func withMigratedDatabase<T: Sendable>(
        _ migrations: [PostgresMigration],
        _ body: (PostgresPool) async throws -> T
    ) async throws -> T {
        try await Self.withMigratedCopy(migrations) { settings in
            try await Self.withDatabase(settings, migrations: migrations, body)
        }
    }

    /// A `postgres://` URL for the database `settings` names (to pass to an executable).
    public static func url(for settings: PostgresSettings) -> String {
        let password =
            settings.password.map { ":" + ($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? $0) }
            ?? ""
        return "postgres://\(settings.username)\(password)@\(settings.host):\(settings.port)/\(settings.database)"
    }

    /// Runs `sql` as the admin user (e.g. to cut a test database off).
    public static func executeAsAdmin(_ sql: String) async throws {
        _ = try await Self.withAdmin(try Self.adminSettings()) { connection in
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
        _ = try await Self.withAdmin(admin) { connection in
            try await connection.query(
                PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(name) WITH (FORCE)"), logger: Self.logger)
        }
    }

    static func withAdmin<T: Sendable>(
        _ settings: PostgresSettings, _ body: (PostgresConnection) async throws -> T
    ) async throws -> T {
        let connection = try await Self.connect(settings)
        do {
            let result = try await body(connection)
            try await connection.close()
            return result
        } catch {
            try? await connection.close()
            throw error
        }
    }

    static func connect(_ settings: PostgresSettings) async throws -> PostgresConnection {
        try await PostgresConnection.connect(
            configuration: .init(
                host: settings.host, port: settings.port, username: settings.username, password: settings.password,
                database: settings.database, tls: .disable),
            id: 1, logger: Self.logger)
    }
}

/// One migrated and seeded database per list of migrations, made once per
/// test process; every test that wants a migrated database gets a copy
/// (`CREATE DATABASE … TEMPLATE`, a file copy of a few milliseconds)
/// instead of migrating and seeding a fresh one (see Tests/run.sh for the
/// figures).
///
/// A process marks its templates as in use with a session advisory lock it
/// holds on a connection that lives as long as the process. The first
/// template a process makes drops those whose process has gone (their lock
/// is free), so a server given in `CARAVAN_TEST_POSTGRES_URL` keeps at
/// most the last run's templates.
actor TemplateDatabases {
    static let shared = TemplateDatabases()

    /// The advisory lock class of template owners ("CART"); the object is a process's token.
    static let lockClass: Int32 = 0x4341_5254
    static let prefix = "caravan_template_"

    private let token = Int32.random(in: 1...Int32.max)
    /// The connection holding this process's lock, kept open for the process's life.
    private var owner: Task<PostgresConnection, any Error>?
    private var templates: [String: Task<String, any Error>] = [:]
    private var started = 0

    /// The template for `migrations`, made on first use.
    func template(for migrations: [PostgresMigration], admin: PostgresSettings) async throws -> String {
        let key = migrations.map(\.name).joined(separator: "\n")
        if let made = self.templates[key] { return try await made.value }
        let name = "\(Self.prefix)\(self.token)_\(self.started)"
        self.started += 1
        let making = Task { try await self.make(name, migrations, admin: admin) }
        self.templates[key] = making
        do {
            return try await making.value
        } catch {
            self.templates[key] = nil
            throw error
        }
    }

    private func make(_ name: String, _ migrations: [PostgresMigration], admin: PostgresSettings) async throws -> String
    {
        try await self.holdOwnership(admin)
        _ = try await TestPostgres.withAdmin(admin) { connection in
            try await connection.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: TestPostgres.logger)
        }
        var settings = admin
        settings.database = name
        _ = try await TestPostgres.withAdmin(settings) { connection in
            try await PostgresMigrator.migrate(
                migrations, on: connection, timeout: .seconds(300), logger: TestPostgres.logger)
        }
        // No session may be connected to a template while it is copied.
        _ = try await TestPostgres.withAdmin(admin) { connection in
            try await connection.query(
                PostgresQuery(unsafeSQL: "ALTER DATABASE \(name) ALLOW_CONNECTIONS false"), logger: TestPostgres.logger)
        }
        return name
    }

    /// Takes this process's lock, once for all the templates it makes.
    private func holdOwnership(_ admin: PostgresSettings) async throws {
        let owner = self.owner ?? Task { try await self.takeOwnership(admin) }
        self.owner = owner
        do {
            _ = try await owner.value
        } catch {
            self.owner = nil
            throw error
        }
    }

    /// Locks this process's token and drops the templates of processes that have gone.
    private func takeOwnership(_ admin: PostgresSettings) async throws -> PostgresConnection {
        let connection = try await TestPostgres.connect(admin)
        _ = try await connection.query(
            "SELECT pg_advisory_lock(\(Self.lockClass), \(self.token))", logger: TestPostgres.logger
        ).collect()
        var names: [String] = []
        for try await name in try await connection.query(
            "SELECT datname FROM pg_database WHERE starts_with(datname, \(Self.prefix))", logger: TestPostgres.logger
        ).decode(String.self) {
            names.append(name)
        }
        for name in names {
            let rest = name.dropFirst(Self.prefix.count)
            guard let token = Int32(rest.prefix { $0 != "_" }), token != self.token else { continue }
            var ownerGone = false
            for try await free in try await connection.query(
                "SELECT pg_try_advisory_lock(\(Self.lockClass), \(token))", logger: TestPostgres.logger
            ).decode(Bool.self) {
                ownerGone = free
            }
            guard ownerGone else { continue }
            _ = try await connection.query(
                "SELECT pg_advisory_unlock(\(Self.lockClass), \(token))", logger: TestPostgres.logger
            ).collect()
            try await connection.query(
                PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(name) WITH (FORCE)"), logger: TestPostgres.logger)
        }
        return connection
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
