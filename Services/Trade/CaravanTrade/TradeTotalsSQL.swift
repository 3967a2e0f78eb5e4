/// The statements that add to the maintained totals, the same text for
/// both stores (upserts: a new group is inserted, an existing one added
/// to), with PostgreSQL's `$n` placeholders; SQLite reads them as `?n`.
///
/// On PostgreSQL `INSERT … ON CONFLICT DO UPDATE` is atomic under
/// concurrent writers on several replicas: a second writer of the same
/// group waits for the first's row lock and adds to what it committed.
enum TradeTotalsSQL {
    /// $1 year, $2 country, $3 direction, $4 category, $5 synthetic, $6 value, $7 flows.
    /// A new group keeps the spelling of its first flow.
    static let addToFlowTotal = """
        INSERT INTO trade_flow_total AS total (year, country, direction, category, synthetic, value_usd, flow_count)
        VALUES ($1, $2, $3, $4, $5, $6, $7)
        ON CONFLICT (year, country, direction, category, synthetic) DO UPDATE SET
            value_usd = total.value_usd + excluded.value_usd, flow_count = total.flow_count + excluded.flow_count
        """

    /// Sessions into a day's or a month's totals: $1 hub, $2 span,
    /// $3 period start, $4 creator country, $5 sessions, $6 synthetic
    /// sessions, $7 followers, $8 sales.
    static let addToHubSessionTotal = """
        INSERT INTO hub_session_total AS total
            (hub_id, span, period_start, creator_country, sessions, synthetic_sessions, new_followers, sales_cny)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
        ON CONFLICT (hub_id, span, period_start, creator_country) DO UPDATE SET
            sessions = total.sessions + excluded.sessions,
            synthetic_sessions = total.synthetic_sessions + excluded.synthetic_sessions,
            new_followers = total.new_followers + excluded.new_followers, sales_cny = total.sales_cny + excluded.sales_cny
        """

    /// Sessions into their creator's totals: $1 hub, $2 creator,
    /// $3 creator country, $4 sessions, $5 followers, $6 sales, $7 synthetic.
    static let addToHubCreatorTotal = """
        INSERT INTO hub_creator_total AS total
            (hub_id, creator, creator_country, sessions, new_followers, sales_cny, synthetic)
        VALUES ($1, $2, $3, $4, $5, $6, $7)
        ON CONFLICT (hub_id, creator, creator_country) DO UPDATE SET
            sessions = total.sessions + excluded.sessions, new_followers = total.new_followers + excluded.new_followers,
            sales_cny = total.sales_cny + excluded.sales_cny, synthetic = total.synthetic OR excluded.synthetic
        """
}
