import CaravanSQLite

/// The trade database's schema and seed on SQLite. Each migration runs once
/// per database file, so seeding on first start is idempotent on restart.
public enum TradeMigrations {
    /// Every migration, in order: the idempotency ledger, the schema, the
    /// seed, the totals the workflow maintains, the energy projects, the
    /// publication named as the seed's source.
    public static let all: [SQLiteMigration] = [
        SQLiteConnection.idempotencyLedgerMigration,
        SQLiteMigration("trade-schema-v1", apply: Self.schemaV1),
        SQLiteMigration("trade-seed-v1") { db in try TradeSeed.insert(db) },
        Self.totalsV2,
        Self.energyV3,
        Self.publishedSourceV4,
    ]

    static func schemaV1(_ db: SQLiteConnection) throws {
        // Flows are immutable facts: no API updates or deletes them, and the
        // UPDATE trigger makes sure nothing else does either, so the
        // maintained totals below can never drift from the rows.
        //
        // Indexes serve ListFlows' keyset order (year, month, id): each ends
        // in (year, month) and SQLite appends the rowid (= id), so a page is
        // an index range scan whichever filter leads.
        try db.executeScript(
            """
            CREATE TABLE trade_flow (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                year INTEGER NOT NULL CHECK (year BETWEEN 1 AND 4095),
                month INTEGER NOT NULL CHECK (month BETWEEN 0 AND 12),
                country TEXT NOT NULL,
                direction INTEGER NOT NULL CHECK (direction IN (1, 2)),
                category TEXT NOT NULL COLLATE NOCASE CHECK (category <> ''),
                value_usd REAL NOT NULL CHECK (value_usd >= 0),
                source TEXT NOT NULL,
                synthetic INTEGER NOT NULL CHECK (synthetic IN (0, 1)),
                recorded_at INTEGER NOT NULL
            );
            CREATE INDEX trade_flow_by_period ON trade_flow(year, month);
            CREATE INDEX trade_flow_by_country ON trade_flow(country, year, month);
            CREATE INDEX trade_flow_by_category ON trade_flow(category, year, month);

            -- Maintained aggregate: one row per (year, country, direction,
            -- category, synthetic), kept by triggers in the inserting
            -- transaction. A yearly summary reads a few hundred rows
            -- instead of summing ~100,000 flows per year; see
            -- docs/benchmarks/trade.md.
            CREATE TABLE trade_flow_total (
                year INTEGER NOT NULL,
                country TEXT NOT NULL,
                direction INTEGER NOT NULL,
                category TEXT NOT NULL COLLATE NOCASE,
                synthetic INTEGER NOT NULL,
                value_usd REAL NOT NULL,
                flow_count INTEGER NOT NULL,
                PRIMARY KEY (year, country, direction, category, synthetic)
            ) WITHOUT ROWID;

            CREATE TRIGGER trade_flow_total_on_insert AFTER INSERT ON trade_flow BEGIN
                INSERT INTO trade_flow_total (year, country, direction, category, synthetic, value_usd, flow_count)
                VALUES (NEW.year, NEW.country, NEW.direction, NEW.category, NEW.synthetic, NEW.value_usd, 1)
                ON CONFLICT (year, country, direction, category, synthetic) DO UPDATE SET
                    value_usd = value_usd + excluded.value_usd,
                    flow_count = flow_count + 1;
            END;
            CREATE TRIGGER trade_flow_total_on_delete AFTER DELETE ON trade_flow BEGIN
                UPDATE trade_flow_total
                SET value_usd = value_usd - OLD.value_usd, flow_count = flow_count - 1
                WHERE year = OLD.year AND country = OLD.country AND direction = OLD.direction
                    AND category = OLD.category AND synthetic = OLD.synthetic;
                DELETE FROM trade_flow_total
                WHERE year = OLD.year AND country = OLD.country AND direction = OLD.direction
                    AND category = OLD.category AND synthetic = OLD.synthetic AND flow_count <= 0;
            END;
            CREATE TRIGGER trade_flow_immutable BEFORE UPDATE ON trade_flow BEGIN
                SELECT RAISE(ABORT, 'trade flows are immutable');
            END;

            -- Figures as published: never summed with flows, never split.
            -- country '' is the whole China–Central Asia total.
            CREATE TABLE published_figure (
                year INTEGER NOT NULL,
                country TEXT NOT NULL,
                value_usd REAL NOT NULL,
                description TEXT NOT NULL,
                source TEXT NOT NULL,
                PRIMARY KEY (year, country)
            );

            CREATE TABLE trade_milestone (
                name TEXT PRIMARY KEY,
                target_usd REAL NOT NULL,
                description TEXT NOT NULL,
                source TEXT NOT NULL
            );

            -- Rates are data with a source, not constants in code.
            CREATE TABLE exchange_rate (
                base_currency TEXT NOT NULL,
                quote_currency TEXT NOT NULL,
                as_of_date TEXT NOT NULL,
                rate REAL NOT NULL CHECK (rate > 0),
                source TEXT NOT NULL,
                PRIMARY KEY (base_currency, quote_currency, as_of_date)
            );

            CREATE TABLE hub (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                name TEXT NOT NULL UNIQUE COLLATE NOCASE,
                short_name TEXT NOT NULL UNIQUE COLLATE NOCASE,
                country TEXT NOT NULL,
                description TEXT NOT NULL
            );

            CREATE TABLE hub_published_figure (
                hub_id INTEGER NOT NULL REFERENCES hub(id),
                as_of_date TEXT NOT NULL,
                followers INTEGER NOT NULL,
                sales_cny REAL NOT NULL,
                sales_usd REAL NOT NULL,
                description TEXT NOT NULL,
                source TEXT NOT NULL,
                PRIMARY KEY (hub_id, as_of_date)
            );

            CREATE TABLE live_stream_session (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                hub_id INTEGER NOT NULL REFERENCES hub(id),
                creator TEXT NOT NULL,
                creator_country TEXT NOT NULL,
                start_unix INTEGER NOT NULL,
                duration_minutes INTEGER NOT NULL CHECK (duration_minutes > 0),
                new_followers INTEGER NOT NULL CHECK (new_followers >= 0),
                sales_cny REAL NOT NULL CHECK (sales_cny >= 0),
                synthetic INTEGER NOT NULL CHECK (synthetic IN (0, 1)),
                recorded_at INTEGER NOT NULL
            );
            CREATE INDEX live_stream_session_by_hub ON live_stream_session(hub_id, start_unix);
            """)
    }
}
