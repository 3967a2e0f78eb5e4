import CaravanPostgres

extension TradePostgresMigrations {
    /// As ``TradeMigrations/totalsV2`` on SQLite: the yearly totals are
    /// added to by the workflow instead of the triggers, flows can be
    /// neither updated nor deleted, and the hub's session totals per day
    /// and month and per creator are filled from the sessions stored.
    static let totalsV2 = PostgresMigration(
        "trade-totals-v2",
        statements: [
            "DROP TRIGGER IF EXISTS trade_flow_total_on_insert ON trade_flow",
            "DROP FUNCTION IF EXISTS trade_flow_total_on_insert()",
            "DROP TRIGGER IF EXISTS trade_flow_total_on_delete ON trade_flow",
            "DROP FUNCTION IF EXISTS trade_flow_total_on_delete()",
            """
            CREATE FUNCTION trade_flow_undeletable() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'trade flows are immutable: they are neither updated nor deleted';
            END
            $$
            """,
            """
            CREATE TRIGGER trade_flow_undeletable BEFORE DELETE ON trade_flow
                FOR EACH ROW EXECUTE FUNCTION trade_flow_undeletable()
            """,
            """
            CREATE TABLE hub_session_total (
                hub_id BIGINT NOT NULL REFERENCES hub(id),
                span BIGINT NOT NULL CHECK (span IN (1, 2)),
                period_start BIGINT NOT NULL,
                creator_country TEXT NOT NULL,
                sessions BIGINT NOT NULL,
                synthetic_sessions BIGINT NOT NULL,
                new_followers BIGINT NOT NULL,
                sales_cny DOUBLE PRECISION NOT NULL,
                PRIMARY KEY (hub_id, span, period_start, creator_country)
            )
            """,
            """
            INSERT INTO hub_session_total
            SELECT hub_id, 1, start_unix - start_unix % 86400, creator_country, COUNT(*),
                   COUNT(*) FILTER (WHERE synthetic), SUM(new_followers), SUM(sales_cny)
            FROM live_stream_session GROUP BY 1, 2, 3, 4
            """,
            """
            INSERT INTO hub_session_total
            SELECT hub_id, 2,
                   EXTRACT(EPOCH FROM date_trunc('month', to_timestamp(start_unix) AT TIME ZONE 'UTC'))::BIGINT,
                   creator_country, COUNT(*), COUNT(*) FILTER (WHERE synthetic), SUM(new_followers), SUM(sales_cny)
            FROM live_stream_session GROUP BY 1, 2, 3, 4
            """,
            """
            CREATE TABLE hub_creator_total (
                hub_id BIGINT NOT NULL REFERENCES hub(id),
                creator TEXT NOT NULL,
                creator_country TEXT NOT NULL,
                sessions BIGINT NOT NULL,
                new_followers BIGINT NOT NULL,
                sales_cny DOUBLE PRECISION NOT NULL,
                synthetic BOOLEAN NOT NULL,
                PRIMARY KEY (hub_id, creator, creator_country)
            )
            """,
            // The order of the top creators, bytewise as SQLite's.
            """
            CREATE INDEX hub_creator_by_sales
                ON hub_creator_total (hub_id, sales_cny DESC, creator COLLATE "C", creator_country COLLATE "C")
            """,
            """
            INSERT INTO hub_creator_total
            SELECT hub_id, creator, creator_country, COUNT(*), SUM(new_followers), SUM(sales_cny), bool_or(synthetic)
            FROM live_stream_session GROUP BY hub_id, creator, creator_country
            """,
        ])
}
