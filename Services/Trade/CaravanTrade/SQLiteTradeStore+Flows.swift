import CaravanServiceKit
import CaravanTradeAPI
import Foundation
import GRDB

extension SQLiteTradeStore {
    public func recordFlow(_ flow: TradeFlow, claim: IdempotencyClaim?) async throws -> RecordFlowResponse {
        try await self.database.write { db in
            try IdempotencyLedger.once(
                db, key: claim?.key, method: claim?.method ?? "", request: claim?.request ?? []
            ) {
                var stored = flow
                stored.recordedAtUnixSeconds = Date().unixSeconds
                try Self.insert(stored, db)
                stored.id = String(db.lastInsertedRowID)
                return RecordFlowResponse(flow: stored)
            }
        }
    }

    /// Inserts one flow with a cached statement (the synthetic generator
    /// calls it a million times in one transaction).
    static func insert(_ flow: TradeFlow, _ db: Database) throws {
        let statement = try db.cachedStatement(
            sql: """
                INSERT INTO trade_flow
                    (year, month, country, direction, category, value_usd, source, synthetic, recorded_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
        try statement.execute(arguments: [
            Int(flow.year), Int(flow.month), flow.country, Int(flow.direction.rawValue), flow.category,
            flow.valueUsd, flow.source, flow.synthetic, flow.recordedAtUnixSeconds,
        ])
    }

    public func flow(id: Int64) async throws -> TradeFlow? {
        try await self.database.read { db in
            try Row.fetchOne(
                db.cachedStatement(sql: "SELECT \(Self.flowColumns) FROM trade_flow WHERE id = ?"),
                arguments: [id])
                .map(Self.flow(from:))
        }
    }

    public func flows(matching query: FlowQuery, after cursor: FlowCursor?, limit: Int) async throws -> [TradeFlow] {
        // The keyset condition alone bounds the scan from below: a cursor
        // before year_from is moved up to it, so deep pages start where the
        // last one ended instead of rescanning from the first matching row.
        var conditions: [String] = []
        var arguments: StatementArguments = []
        var start = cursor
        if let yearFrom = query.yearFrom, start == nil || start!.year < yearFrom {
            start = FlowCursor(year: yearFrom, month: 0, id: 0)
        }
        if let start {
            conditions.append("(year, month, id) > (?, ?, ?)")
            arguments += [start.year, start.month, start.id]
        }
        if let yearTo = query.yearTo {
            conditions.append("year <= ?")
            arguments += [yearTo]
        }
        if let country = query.country {
            conditions.append("country = ?")
            arguments += [country]
        }
        if let direction = query.direction {
            conditions.append("direction = ?")
            arguments += [Int(direction.rawValue)]
        }
        if let category = query.category {
            conditions.append("category = ?")
            arguments += [category]
        }
        arguments += [limit]
        let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let sql = "SELECT \(Self.flowColumns) FROM trade_flow \(filter) ORDER BY year, month, id LIMIT ?"
        let bound = arguments
        return try await self.database.read { db in
            try Array(Row.fetchCursor(db.cachedStatement(sql: sql), arguments: bound).map(Self.flow(from:)))
        }
    }

    public func flowTotals(year: Int, country: String?) async throws -> [FlowTotal] {
        try await self.database.read { db in try Self.totals(db, year: year, country: country) }
    }

    /// The maintained totals of a year: a primary-key range of a few hundred rows.
    static func totals(_ db: Database, year: Int, country: String?) throws -> [FlowTotal] {
        var sql = """
            SELECT country, direction, category, synthetic, value_usd, flow_count FROM trade_flow_total
            WHERE year = ? AND flow_count > 0
            """
        var arguments: StatementArguments = [year]
        if let country {
            sql += " AND country = ?"
            arguments += [country]
        }
        // Columns by position and rows straight off a cursor: by-name
        // lookups (case-insensitive) and row copies were most of a
        // summary's CPU time.
        return try Array(
            Row.fetchCursor(db.cachedStatement(sql: sql), arguments: arguments).map { row in
                FlowTotal(
                    country: row[0], direction: TradeDirection(rawValue: Int32(row[1] as Int)), category: row[2],
                    synthetic: row[3], valueUSD: row[4], flowCount: row[5])
            })
    }

    static let flowColumns =
        "id, year, month, country, direction, category, value_usd, source, synthetic, recorded_at"

    static func flow(from row: Row) -> TradeFlow {
        // By position, in the order of `flowColumns`.
        TradeFlow(
            id: String(row[0] as Int64),
            year: UInt32(row[1] as Int),
            month: UInt32(row[2] as Int),
            country: row[3],
            direction: TradeDirection(rawValue: Int32(row[4] as Int)),
            category: row[5],
            valueUsd: row[6],
            source: row[7],
            synthetic: row[8],
            recordedAtUnixSeconds: row[9]
        )
    }
}
