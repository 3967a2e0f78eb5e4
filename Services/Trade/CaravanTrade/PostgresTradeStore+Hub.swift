import CaravanCore
import CaravanPostgres
import CaravanTradeAPI
import Foundation
import Logging
import PostgresNIO

extension PostgresTradeStore {
    public func recordSession(_ session: LiveStreamSession, claim: IdempotencyClaim?) async throws
        -> RecordStreamSessionResponse
    {
        try await self.pool.transaction { connection, logger in
            try await PostgresIdempotencyLedger.once(connection, IdempotentWrite(claim), logger: logger) {
                // An unknown hub throws here and rolls the claim back with
                // the rest: the key stays free for a corrected request.
                let hub = try await Self.hub(named: session.hub, connection, logger: logger)
                let rows = try await connection.query(
                    """
                    INSERT INTO live_stream_session (hub_id, creator, creator_country, start_unix,
                        duration_minutes, new_followers, sales_cny, synthetic, recorded_at)
                    VALUES (\(hub.id), \(session.creator), \(session.creatorCountry), \(session.startUnixSeconds),
                        \(Int64(session.durationMinutes)), \(Int64(session.newFollowers)), \(session.salesCny),
                        \(session.synthetic), \(Date().unixSeconds))
                    RETURNING id
                    """, logger: logger)
                var stored = session
                for try await id in rows.decode(Int64.self) {
                    stored.id = String(id)
                }
                stored.hub = hub.name
                return RecordStreamSessionResponse(session: stored)
            }
        }
    }

    public func hubActivity(hub name: String, period: Range<Int64>, topCreators: Int) async throws -> HubActivity {
        // One snapshot, as SQLite's one read: the totals, the creators and
        // the published figure describe the same sessions.
        try await self.pool.snapshot { connection, logger in
            let hub = try await Self.hub(named: name, connection, logger: logger)
            let (from, to) = (period.lowerBound, period.upperBound)
            // SUM of BIGINT is NUMERIC in PostgreSQL: cast back.
            var activity = HubActivity(
                hub: hub.name, sessions: 0, syntheticSessions: 0, newFollowers: 0, salesCNY: 0, topCreators: [],
                published: nil)
            let totals = try await connection.query(
                """
                SELECT COUNT(*), COUNT(*) FILTER (WHERE synthetic), COALESCE(SUM(new_followers), 0)::BIGINT,
                    COALESCE(SUM(sales_cny), 0)::DOUBLE PRECISION
                FROM live_stream_session WHERE hub_id = \(hub.id) AND start_unix >= \(from) AND start_unix < \(to)
                """, logger: logger)
            for try await (sessions, synthetic, followers, sales) in totals.decode((Int64, Int64, Int64, Double).self) {
                activity.sessions = UInt64(sessions)
                activity.syntheticSessions = UInt64(synthetic)
                activity.newFollowers = UInt64(followers)
                activity.salesCNY = sales
            }
            // Ties in sales by name, bytewise ("C") as SQLite orders text.
            let creators = try await connection.query(
                """
                SELECT creator, creator_country, COUNT(*), SUM(new_followers)::BIGINT, SUM(sales_cny), bool_or(synthetic)
                FROM live_stream_session WHERE hub_id = \(hub.id) AND start_unix >= \(from) AND start_unix < \(to)
                GROUP BY creator, creator_country
                ORDER BY SUM(sales_cny) DESC, creator COLLATE "C", creator_country COLLATE "C"
                LIMIT \(Int64(topCreators))
                """, logger: logger)
            for try await (creator, country, sessions, followers, sales, synthetic) in creators.decode(
                (String, String, Int64, Int64, Double, Bool).self)
            {
                activity.topCreators.append(
                    CreatorTotal(
                        creator: creator, creatorCountry: country, sessions: UInt64(sessions),
                        newFollowers: UInt64(followers), salesCny: sales, synthetic: synthetic))
            }
            let published = try await connection.query(
                """
                SELECT as_of_date, followers, sales_cny, sales_usd, description, source
                FROM hub_published_figure WHERE hub_id = \(hub.id) ORDER BY as_of_date COLLATE "C" DESC LIMIT 1
                """, logger: logger)
            for try await (asOf, followers, salesCNY, salesUSD, description, source) in published.decode(
                (String, Int64, Double, Double, String, String).self)
            {
                activity.published = HubPublishedFigures(
                    asOfDate: asOf, followers: UInt64(followers), salesCny: salesCNY, salesUsd: salesUSD,
                    description: description, source: source)
            }
            return activity
        }
    }

    /// The hub with this name or short name (case-insensitive, by the
    /// columns' `caravan_nocase`).
    static func hub(named name: String, _ connection: PostgresConnection, logger: Logger) async throws
        -> (id: Int64, name: String)
    {
        let rows = try await connection.query(
            "SELECT id, name FROM hub WHERE name = \(name) OR short_name = \(name) ORDER BY id LIMIT 1",
            logger: logger)
        for try await (id, name) in rows.decode((Int64, String).self) {
            return (id, name)
        }
        // Ordered as SQLite's NOCASE orders: ASCII letters folded, then bytewise.
        let known = try await connection.query(
            """
            SELECT name || ' (' || short_name || ')' FROM hub ORDER BY lower(name COLLATE "C")
            """, logger: logger)
        var names: [String] = []
        for try await text in known.decode(String.self) {
            names.append(text)
        }
        throw TradeError.unknownHub(name, known: names)
    }
}
