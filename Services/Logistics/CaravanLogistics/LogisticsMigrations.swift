import CaravanLogisticsAPI
import CaravanSQLite

/// The logistics database's schema and seed on SQLite: applied once each,
/// in order, so reopening a database never seeds it twice.
public enum LogisticsMigrations {
    public static let all: [SQLiteMigration] = [
        SQLiteConnection.idempotencyLedgerMigration,
        SQLiteMigration("logistics-v1-schema") { db in
            try db.executeScript(
                """
                CREATE TABLE network_meta (
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    version INTEGER NOT NULL
                );
                CREATE TABLE city (
                    seq INTEGER PRIMARY KEY,
                    id TEXT NOT NULL UNIQUE,
                    name TEXT NOT NULL,
                    country TEXT NOT NULL,
                    region INTEGER NOT NULL,
                    is_border_crossing INTEGER NOT NULL,
                    synthetic INTEGER NOT NULL,
                    note TEXT NOT NULL
                );
                CREATE TABLE rail_link (
                    seq INTEGER PRIMARY KEY,
                    id TEXT NOT NULL UNIQUE,
                    from_city TEXT NOT NULL REFERENCES city(id),
                    to_city TEXT NOT NULL REFERENCES city(id),
                    transit_hours REAL NOT NULL CHECK (transit_hours > 0),
                    distance_km REAL NOT NULL CHECK (distance_km > 0),
                    crossing_city TEXT NOT NULL,
                    active INTEGER NOT NULL,
                    synthetic INTEGER NOT NULL,
                    note TEXT NOT NULL
                );
                CREATE TABLE cargo_category (
                    seq INTEGER PRIMARY KEY,
                    id TEXT NOT NULL UNIQUE,
                    name TEXT NOT NULL,
                    high_value INTEGER NOT NULL,
                    synthetic INTEGER NOT NULL,
                    note TEXT NOT NULL
                );
                CREATE TABLE shipment (
                    seq INTEGER PRIMARY KEY,
                    id TEXT NOT NULL UNIQUE,
                    origin TEXT NOT NULL REFERENCES city(id),
                    destination TEXT NOT NULL REFERENCES city(id),
                    origin_country TEXT NOT NULL,
                    destination_country TEXT NOT NULL,
                    category TEXT NOT NULL REFERENCES cargo_category(id),
                    containers INTEGER NOT NULL CHECK (containers > 0),
                    route BLOB NOT NULL,
                    booked_at INTEGER NOT NULL,
                    eta INTEGER NOT NULL,
                    status INTEGER NOT NULL,
                    last_city TEXT NOT NULL,
                    synthetic INTEGER NOT NULL
                );
                CREATE INDEX shipment_by_status ON shipment(status, seq);
                CREATE TABLE shipment_event (
                    shipment_seq INTEGER NOT NULL REFERENCES shipment(seq),
                    sequence INTEGER NOT NULL,
                    kind INTEGER NOT NULL,
                    location TEXT NOT NULL,
                    note TEXT NOT NULL,
                    at INTEGER NOT NULL,
                    PRIMARY KEY (shipment_seq, sequence)
                ) WITHOUT ROWID;
                """)
        },
        SQLiteMigration("logistics-v1-seed") { db in
            try Self.insertSeed(SeedNetwork.build(), into: db)
        },
        SQLiteMigration(
            "logistics-v2-shipment-counts", script: LogisticsCountsSQL.schema + ";" + LogisticsCountsSQL.fill),
        SQLiteMigration("logistics-v3-category-notes") { db in
            for named in SeedNetwork.namedCategories {
                try db.execute("UPDATE cargo_category SET note = ? WHERE id = ?", named.note, named.id)
            }
        },
    ]

    static func insertSeed(_ data: NetworkData, into db: SQLiteConnection) throws {
        try db.execute("INSERT INTO network_meta (id, version) VALUES (1, ?)", data.version)
        for city in data.cities {
            try db.execute(
                """
                INSERT INTO city (id, name, country, region, is_border_crossing, synthetic, note)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """,
                city.id, city.name, city.country, city.region.rawValue, city.isBorderCrossing, city.synthetic, city.note
            )
        }
        for stored in data.links {
            try LogisticsRows.insertLink(stored.link, seq: stored.seq, db)
        }
        for category in data.categories {
            try db.execute(
                "INSERT INTO cargo_category (id, name, high_value, synthetic, note) VALUES (?, ?, ?, ?, ?)",
                category.id, category.name, category.highValue, category.synthetic, category.note)
        }
    }
}
