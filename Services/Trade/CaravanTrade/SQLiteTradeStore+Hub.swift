import CaravanCore
import CaravanServiceKit
import CaravanTradeAPI
import Foundation
import GRDB

extension SQLiteTradeStore {
    public func recordSession(_ session: LiveStreamSession, claim: IdempotencyClaim?) async throws
        -> RecordStreamSessionResponse
    {
        try await self.database.write { db in
            try IdempotencyLedger.once(db, IdempotentWrite(claim)) {
                let hub = try Self.hub(named: session.hub, db)
                try db.execute(
                    sql: """
                        INSERT INTO live_stream_session (hub_id, creator, creator_country, start_unix,
                            duration_minutes, new_followers, sales_cny, synthetic, recorded_at)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        hub.id, session.creator, session.creatorCountry, session.startUnixSeconds,
                        Int(session.durationMinutes), Int64(session.newFollowers), session.salesCny,
                        session.synthetic, Date().unixSeconds,
                    ])
                var stored = session
                stored.id = String(db.lastInsertedRowID)
                stored.hub = hub.name
                return RecordStreamSessionResponse(session: stored)
            }
        }
    }

    public func hubActivity(hub name: String, period: Range<Int64>, topCreators: Int) async throws -> HubActivity {
        try await self.database.read { db in
            let hub = try Self.hub(named: name, db)
            let window: StatementArguments = [hub.id, period.lowerBound, period.upperBound]
            let totals = try Row.fetchOne(
                db.cachedStatement(
                    sql: """
                        SELECT COUNT(*) AS sessions, COALESCE(SUM(synthetic), 0) AS synthetic_sessions,
                            COALESCE(SUM(new_followers), 0) AS new_followers, TOTAL(sales_cny) AS sales_cny
                        FROM live_stream_session WHERE hub_id = ? AND start_unix >= ? AND start_unix < ?
                        """),
                arguments: window)!
            let creators = try Row.fetchAll(
                db.cachedStatement(
                    sql: """
                        SELECT creator, creator_country, COUNT(*) AS sessions, SUM(new_followers) AS new_followers,
                            TOTAL(sales_cny) AS sales_cny, MAX(synthetic) AS synthetic
                        FROM live_stream_session WHERE hub_id = ? AND start_unix >= ? AND start_unix < ?
                        GROUP BY creator, creator_country
                        ORDER BY TOTAL(sales_cny) DESC, creator, creator_country
                        LIMIT ?
                        """),
                arguments: window + [topCreators]
            ).map { row in
                CreatorTotal(
                    creator: row["creator"], creatorCountry: row["creator_country"],
                    sessions: UInt64(row["sessions"] as Int64), newFollowers: UInt64(row["new_followers"] as Int64),
                    salesCny: row["sales_cny"], synthetic: row["synthetic"])
            }
            let published = try Row.fetchOne(
                db.cachedStatement(
                    sql: """
                        SELECT as_of_date, followers, sales_cny, sales_usd, description, source
                        FROM hub_published_figure WHERE hub_id = ? ORDER BY as_of_date DESC LIMIT 1
                        """),
                arguments: [hub.id]
            ).map { row in
                HubPublishedFigures(
                    asOfDate: row["as_of_date"], followers: UInt64(row["followers"] as Int64),
                    salesCny: row["sales_cny"], salesUsd: row["sales_usd"], description: row["description"],
                    source: row["source"])
            }
            return HubActivity(
                hub: hub.name,
                sessions: UInt64(totals["sessions"] as Int64),
                syntheticSessions: UInt64(totals["synthetic_sessions"] as Int64),
                newFollowers: UInt64(totals["new_followers"] as Int64),
                salesCNY: totals["sales_cny"],
                topCreators: creators,
                published: published)
        }
    }

    /// The hub with this name or short name (case-insensitive).
    static func hub(named name: String, _ db: Database) throws -> (id: Int64, name: String) {
        if let row = try Row.fetchOne(
            db.cachedStatement(sql: "SELECT id, name FROM hub WHERE name = ? OR short_name = ?"),
            arguments: [name, name])
        {
            return (row["id"], row["name"])
        }
        let known = try String.fetchAll(
            db.cachedStatement(sql: "SELECT name || ' (' || short_name || ')' FROM hub ORDER BY name"))
        throw TradeError.unknownHub(name, known: known)
    }
}
