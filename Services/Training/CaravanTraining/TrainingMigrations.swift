import CaravanSQLite
import CaravanTrainingAPI
import Foundation

/// The training database's schema and seed on SQLite: each migration runs
/// once per database file, so seeding on first start is idempotent.
public enum TrainingMigrations {
    /// The migrations, seeding the programs' dates from the clock when the seed runs.
    public static var all: [SQLiteMigration] { Self.all(now: { Date() }) }

    /// The migrations; `now` is read once, when the seed runs (the store's
    /// first start), and places the seeded programs' dates (``TrainingSeed``).
    public static func all(now: @escaping @Sendable () -> Date) -> [SQLiteMigration] {
        Self.beforeSeed + [Self.seed(now: now)]
    }

    static let beforeSeed: [SQLiteMigration] = [
        SQLiteConnection.idempotencyLedgerMigration,
        SQLiteMigration("training-schema-v1") { db in
            // enrolled/waitlisted/completed are counters kept in step with
            // the enrolment rows by the same transactions that change them,
            // so a decision reads one row, and statistics need no scan of
            // the enrolments. The CHECK makes overbooking impossible even
            // if a bug slipped past the rules.
            try db.executeScript(
                """
                CREATE TABLE program (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    title TEXT NOT NULL,
                    field TEXT NOT NULL COLLATE NOCASE,
                    host_centre TEXT NOT NULL,
                    host_city TEXT NOT NULL COLLATE NOCASE,
                    country TEXT NOT NULL,
                    language TEXT NOT NULL,
                    capacity INTEGER NOT NULL CHECK (capacity > 0),
                    start_date TEXT NOT NULL,
                    end_date TEXT NOT NULL CHECK (end_date >= start_date),
                    synthetic INTEGER NOT NULL,
                    enrolled INTEGER NOT NULL DEFAULT 0 CHECK (enrolled >= 0),
                    waitlisted INTEGER NOT NULL DEFAULT 0 CHECK (waitlisted >= 0),
                    completed INTEGER NOT NULL DEFAULT 0 CHECK (completed >= 0),
                    CHECK (enrolled + completed <= capacity)
                );
                CREATE INDEX program_by_country ON program(country, id);
                CREATE INDEX program_by_field ON program(field, id);
                CREATE INDEX program_by_city ON program(host_city, id);

                CREATE TABLE trainee (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    name TEXT NOT NULL,
                    country TEXT NOT NULL,
                    contact TEXT NOT NULL,
                    synthetic INTEGER NOT NULL
                );

                -- One place per trainee per program, whatever its status.
                -- The id is also the wait-list order: rows are inserted one
                -- transaction at a time, so ids follow the decisions.
                CREATE TABLE enrolment (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    trainee_id INTEGER NOT NULL REFERENCES trainee(id),
                    program_id INTEGER NOT NULL REFERENCES program(id),
                    status INTEGER NOT NULL CHECK (status BETWEEN 1 AND 4),
                    created_at INTEGER NOT NULL,
                    updated_at INTEGER NOT NULL,
                    certificate_id TEXT UNIQUE,
                    UNIQUE (program_id, trainee_id)
                );
                CREATE INDEX enrolment_queue ON enrolment(program_id, status, id);
                CREATE INDEX enrolment_by_trainee ON enrolment(trainee_id, id);
                """)
        },
    ]

    static func seed(now: @escaping @Sendable () -> Date) -> SQLiteMigration {
        SQLiteMigration("training-seed-v1") { db in
            for program in TrainingSeed.programs(firstStart: Int64(now().timeIntervalSince1970)) {
                _ = try TrainingRows.insertProgram(program, db)
            }
        }
    }
}
