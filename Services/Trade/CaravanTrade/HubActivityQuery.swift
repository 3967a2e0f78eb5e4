/// The statements that read a hub's activity for a period, for either
/// store: the period's parts (``HubPeriodCover``) summed in one statement
/// from the sessions and the maintained totals, and the top creators.
///
/// Written with PostgreSQL's `$n` placeholders; SQLite reads the same
/// numbers as `?n` (`SQLiteConnection.numberedPlaceholders`).
enum HubActivityQuery {
    /// Sums of sessions, synthetic sessions, new followers and sales in CNY.
    /// Parameters: $1 hub, $2…$11 the cover's five ranges, $12 the creator
    /// country when `byCountry`.
    static func totals(byCountry: Bool) -> String {
        let country = byCountry ? " AND creator_country = $12" : ""
        func sessions(_ from: Int, _ to: Int) -> String {
            """
            SELECT COUNT(*) AS sessions, SUM(CASE WHEN synthetic THEN 1 ELSE 0 END) AS synthetic,
                   SUM(new_followers) AS followers, SUM(sales_cny) AS sales
            FROM live_stream_session WHERE hub_id = $1 AND start_unix >= $\(from) AND start_unix < $\(to)\(country)
            """
        }
        func totals(_ span: Int64, _ from: Int, _ to: Int) -> String {
            """
            SELECT SUM(sessions) AS sessions, SUM(synthetic_sessions) AS synthetic, SUM(new_followers) AS followers,
                   SUM(sales_cny) AS sales
            FROM hub_session_total
            WHERE hub_id = $1 AND span = \(span) AND period_start >= $\(from) AND period_start < $\(to)\(country)
            """
        }
        let parts = [
            sessions(2, 3), sessions(4, 5), totals(HubTotals.daySpan, 6, 7),
            totals(HubTotals.daySpan, 8, 9), totals(HubTotals.monthSpan, 10, 11),
        ]
        return """
            SELECT CAST(COALESCE(SUM(sessions), 0) AS BIGINT), CAST(COALESCE(SUM(synthetic), 0) AS BIGINT),
                   CAST(COALESCE(SUM(followers), 0) AS BIGINT), COALESCE(SUM(sales), 0.0)
            FROM (\(parts.joined(separator: " UNION ALL "))) AS parts
            """
    }

    /// The values of ``totals(byCountry:)``'s parameters $2…$11.
    static func ranges(_ cover: HubPeriodCover) -> [Int64] {
        [cover.headSessions, cover.tailSessions, cover.headDays, cover.tailDays, cover.months]
            .flatMap { [$0.lowerBound, $0.upperBound] }
    }
}
