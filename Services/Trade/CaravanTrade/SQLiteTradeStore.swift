import CaravanServiceKit
import CaravanTradeAPI
import Foundation
import GRDB

/// The trade store on SQLite (GRDB): a ``DatabasePool`` in WAL mode when
/// serving, an in-memory ``DatabaseQueue`` in tests.
///
/// Every access goes through GRDB's async `read`/`write`, which run the
/// closure on GRDB's own serial queues, so the cooperative thread pool never
/// waits on SQLite.
public struct SQLiteTradeStore: TradeStore {
    public let database: any DatabaseWriter

    /// Wraps a database the ``TradeMigrations`` have already been applied to.
    public init(database: any DatabaseWriter) {
        self.database = database
    }

    /// A fresh private in-memory database with the schema and seed (tests).
    public static func inMemory() throws -> SQLiteTradeStore {
        SQLiteTradeStore(database: try ServiceDatabase.inMemory(migrator: TradeMigrations.migrator))
    }

    public func summaryFigures(year: Int, country: String?) async throws -> SummaryFigures {
        // One read: one hop to GRDB's queue and one snapshot, so the year,
        // the year before and the published figure agree with each other.
        try await self.database.read { db in
            let previous = try Row.fetchOne(
                db.cachedStatement(
                    sql: """
                        SELECT TOTAL(value_usd), COALESCE(SUM(flow_count), 0) FROM trade_flow_total
                        WHERE year = ?\(country == nil ? "" : " AND country = ?")
                        """),
                arguments: country.map { [year - 1, $0] } ?? [year - 1])!
            return SummaryFigures(
                totals: try Self.totals(db, year: year, country: country),
                previousYearTotalUSD: previous[0],
                previousYearFlowCount: previous[1],
                published: try Self.publishedFigure(db, year: year, country: country ?? ""),
                milestone: try Self.milestone(db))
        }
    }

    static func milestone(_ db: Database) throws -> TradeMilestone {
        guard
            let row = try Row.fetchOne(
                db.cachedStatement(
                    sql: "SELECT target_usd, description, source FROM trade_milestone ORDER BY name LIMIT 1"))
        else {
            // The seed always inserts one; a database without it was tampered with.
            throw DatabaseError(resultCode: .SQLITE_CORRUPT, message: "trade_milestone has no row")
        }
        return TradeMilestone(targetUSD: row[0], description: row[1], source: row[2])
    }

    static func publishedFigure(_ db: Database, year: Int, country: String) throws -> PublishedFigure? {
        try Row.fetchOne(
            db.cachedStatement(
                sql:
                    "SELECT year, country, value_usd, description, source FROM published_figure WHERE year = ? AND country = ?"
            ),
            arguments: [year, country]
        ).map { row in
            PublishedFigure(
                year: UInt32(row[0] as Int), country: row[1], valueUsd: row[2], description: row[3], source: row[4])
        }
    }

    public func exchangeRate(base: String, quote: String) async throws -> ExchangeRate? {
        try await self.database.read { db in
            try Row.fetchOne(
                db.cachedStatement(
                    sql: """
                        SELECT base_currency, quote_currency, rate, source, as_of_date FROM exchange_rate
                        WHERE base_currency = ? AND quote_currency = ? ORDER BY as_of_date DESC LIMIT 1
                        """),
                arguments: [base, quote]
            ).map { row in
                ExchangeRate(
                    baseCurrency: row["base_currency"], quoteCurrency: row["quote_currency"], rate: row["rate"],
                    source: row["source"], asOfDate: row["as_of_date"])
            }
        }
    }
}
