import Logging
import PostgresNIO

extension TradeSeed {
    /// Inserts the seed into PostgreSQL: the same facts as ``insert(_:)``;
    /// `ON CONFLICT DO NOTHING` keeps it harmless if ever run twice.
    static func insert(_ connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(
            """
            INSERT INTO published_figure (year, country, value_usd, description, source)
            VALUES (\(Self.totalYear), '', \(Self.total2024USD), \(Self.total2024Description), \(Self.source))
            ON CONFLICT DO NOTHING
            """, logger: logger)
        try await connection.query(
            """
            INSERT INTO trade_milestone (name, target_usd, description, source)
            VALUES (\(Self.milestoneName), \(Self.milestoneUSD), \(Self.milestoneDescription), \(Self.source))
            ON CONFLICT DO NOTHING
            """, logger: logger)
        try await connection.query(
            """
            INSERT INTO exchange_rate (base_currency, quote_currency, as_of_date, rate, source)
            VALUES (\(Self.rateBase), \(Self.rateQuote), \(Self.asOfDate), \(Self.cnyUSDRate), \(Self.cnyUSDRateSource))
            ON CONFLICT DO NOTHING
            """, logger: logger)
        try await connection.query(
            """
            INSERT INTO hub (name, short_name, country, description)
            VALUES (\(Self.horgosName), \(Self.horgosShortName), \(Self.horgosCountry), \(Self.horgosDescription))
            ON CONFLICT DO NOTHING
            """, logger: logger)
        try await connection.query(
            """
            INSERT INTO hub_published_figure (hub_id, as_of_date, followers, sales_cny, sales_usd, description, source)
            SELECT id, \(Self.asOfDate), \(Self.horgosFollowers), \(Self.horgosSalesCNY), \(Self.horgosSalesUSD),
                \(Self.horgosFiguresDescription), \(Self.source)
            FROM hub WHERE short_name = \(Self.horgosShortName)
            ON CONFLICT DO NOTHING
            """, logger: logger)
    }
}
