import CaravanCore
import CaravanPostgres
import CaravanTradeAPI
import Logging
import PostgresNIO

/// The trade store on PostgreSQL (`--database postgres://…`): the same
/// answers as ``SQLiteTradeStore`` from the schema of
/// ``TradePostgresMigrations``, safe with several replicas on one database.
///
/// Writes run in one READ COMMITTED transaction each, through
/// `PostgresIdempotencyLedger`, which claims the key before writing: the
/// same key sent to two replicas at once is written by one, and the other
/// waits on the claimed key and answers as the first did. The maintained
/// totals are updated by an upsert in the inserting statement, which is
/// atomic however many replicas insert into one group. Reads that must
/// agree with each other (a summary, a hub's statistics) take one snapshot.
public struct PostgresTradeStore: TradeStore {
    public let pool: PostgresPool

    /// Wraps a database the ``TradePostgresMigrations`` have been applied to.
    public init(_ pool: PostgresPool) {
        self.pool = pool
    }

    public func summaryFigures(year: Int, country: String?) async throws -> SummaryFigures {
        // One REPEATABLE READ READ ONLY transaction: the year, the year
        // before and the published figure agree with each other.
        try await self.pool.snapshot { connection, logger in
            let previous = try await Self.yearTotal(connection, year: year - 1, country: country, logger: logger)
            return SummaryFigures(
                totals: try await Self.totals(connection, year: year, country: country, logger: logger),
                previousYearTotalUSD: previous.valueUSD,
                previousYearFlowCount: previous.flowCount,
                published: try await Self.publishedFigure(
                    connection, year: year, country: country ?? "", logger: logger),
                milestone: try await Self.milestone(connection, logger: logger))
        }
    }

    /// The sum and count of a year's flows (one country, or all when nil).
    static func yearTotal(_ connection: PostgresConnection, year: Int, country: String?, logger: Logger)
        async throws -> (valueUSD: Double, flowCount: Int64)
    {
        // SUM of BIGINT is NUMERIC in PostgreSQL: cast back.
        let rows =
            if let country {
                try await connection.query(
                    """
                    SELECT COALESCE(SUM(value_usd), 0)::DOUBLE PRECISION, COALESCE(SUM(flow_count), 0)::BIGINT
                    FROM trade_flow_total WHERE year = \(year) AND country = \(country)
                    """, logger: logger)
            } else {
                try await connection.query(
                    """
                    SELECT COALESCE(SUM(value_usd), 0)::DOUBLE PRECISION, COALESCE(SUM(flow_count), 0)::BIGINT
                    FROM trade_flow_total WHERE year = \(year)
                    """, logger: logger)
            }
        for try await (value, count) in rows.decode((Double, Int64).self) {
            return (value, count)
        }
        return (0, 0)
    }

    static func milestone(_ connection: PostgresConnection, logger: Logger) async throws -> TradeMilestone {
        let rows = try await connection.query(
            """
            SELECT target_usd, description, source FROM trade_milestone
            ORDER BY name COLLATE "C" LIMIT 1
            """, logger: logger)
        for try await (target, description, source) in rows.decode((Double, String, String).self) {
            return TradeMilestone(targetUSD: target, description: description, source: source)
        }
        // The seed always inserts one; a database without it was tampered with.
        throw RPCError(code: .internal, message: "Storage failed: trade_milestone has no row.")
    }

    static func publishedFigure(_ connection: PostgresConnection, year: Int, country: String, logger: Logger)
        async throws -> PublishedFigure?
    {
        let rows = try await connection.query(
            """
            SELECT year, country, value_usd, description, source FROM published_figure
            WHERE year = \(year) AND country = \(country)
            """, logger: logger)
        for try await (year, country, value, description, source) in rows.decode(
            (Int64, String, Double, String, String).self)
        {
            return PublishedFigure(
                year: UInt32(year), country: country, valueUsd: value, description: description, source: source)
        }
        return nil
    }

    public func exchangeRate(base: String, quote: String) async throws -> ExchangeRate? {
        try await self.pool.read { connection, logger in
            // "C": SQLite compares text bytewise, whatever the database's locale.
            let rows = try await connection.query(
                """
                SELECT base_currency, quote_currency, rate, source, as_of_date FROM exchange_rate
                WHERE base_currency = \(base) AND quote_currency = \(quote)
                ORDER BY as_of_date COLLATE "C" DESC LIMIT 1
                """, logger: logger)
            for try await (base, quote, rate, source, asOf) in rows.decode(
                (String, String, Double, String, String).self)
            {
                return ExchangeRate(
                    baseCurrency: base, quoteCurrency: quote, rate: rate, source: source, asOfDate: asOf)
            }
            return nil
        }
    }
}
