import CaravanSQLite

extension TradeMigrations {
    /// The totals the workflow maintains: the yearly flow totals, which
    /// ``TradeWorkflow`` adds to in the recording transaction (so the
    /// insert triggers go), and the hub's session totals per day and month
    /// and per creator, filled from the sessions already stored. Flows stay
    /// immutable facts: neither updated nor deleted (the totals could not
    /// follow either).
    static let totalsV2 = SQLiteMigration(
        "trade-totals-v2",
        script: """
            DROP TRIGGER IF EXISTS trade_flow_total_on_insert;
            DROP TRIGGER IF EXISTS trade_flow_total_on_delete;
            CREATE TRIGGER trade_flow_undeletable BEFORE DELETE ON trade_flow BEGIN
                SELECT RAISE(ABORT, 'trade flows are immutable: they are neither updated nor deleted');
            END;

            CREATE TABLE hub_session_total (
                hub_id INTEGER NOT NULL REFERENCES hub(id),
                span INTEGER NOT NULL CHECK (span IN (1, 2)),
                period_start INTEGER NOT NULL,
                creator_country TEXT NOT NULL,
                sessions INTEGER NOT NULL,
                synthetic_sessions INTEGER NOT NULL,
                new_followers INTEGER NOT NULL,
                sales_cny REAL NOT NULL,
                PRIMARY KEY (hub_id, span, period_start, creator_country)
            ) WITHOUT ROWID;
            INSERT INTO hub_session_total
            SELECT hub_id, 1, start_unix - start_unix % 86400, creator_country, COUNT(*), SUM(synthetic),
                   SUM(new_followers), TOTAL(sales_cny)
            FROM live_stream_session GROUP BY 1, 2, 3, 4;
            INSERT INTO hub_session_total
            SELECT hub_id, 2, CAST(strftime('%s', start_unix, 'unixepoch', 'start of month') AS INTEGER),
                   creator_country, COUNT(*), SUM(synthetic), SUM(new_followers), TOTAL(sales_cny)
            FROM live_stream_session GROUP BY 1, 2, 3, 4;

            CREATE TABLE hub_creator_total (
                hub_id INTEGER NOT NULL REFERENCES hub(id),
                creator TEXT NOT NULL,
                creator_country TEXT NOT NULL,
                sessions INTEGER NOT NULL,
                new_followers INTEGER NOT NULL,
                sales_cny REAL NOT NULL,
                synthetic INTEGER NOT NULL,
                PRIMARY KEY (hub_id, creator, creator_country)
            ) WITHOUT ROWID;
            CREATE INDEX hub_creator_by_sales ON hub_creator_total (hub_id, sales_cny DESC, creator, creator_country);
            INSERT INTO hub_creator_total
            SELECT hub_id, creator, creator_country, COUNT(*), SUM(new_followers), TOTAL(sales_cny), MAX(synthetic)
            FROM live_stream_session GROUP BY hub_id, creator, creator_country;
            """)
}
