import CaravanCore
import CaravanServiceKit
import CaravanTradeAPI
import Foundation
import GRDB

extension SQLiteTradeStore {
    public func recordFlow(_ flow: TradeFlow, claim: IdempotencyClaim?) async throws -> RecordFlowResponse {
        try await self.database.write { db in
            try IdempotencyLedger.once(db, IdempotentWrite(claim)) {
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
                db.cachedStatement(sql: "SELECT \(TradeFlow.storedColumns) FROM trade_flow WHERE id = ?"),
                arguments: [id]
            )
            .map(Self.flow(from:))
        }
    }

    public func flows(matching query: FlowQuery, after cursor: FlowCursor?, limit: Int) async throws -> [TradeFlow] {
        let page = FlowPageQuery(query, after: cursor, limit: limit) { _ in "?" }
        let arguments = StatementArguments(
            page.arguments.map { argument -> any DatabaseValueConvertible in
                switch argument {
                case .integer(let value): value
                case .text(let value): value
                }
            })
        return try await self.database.read { db in
            try Array(Row.fetchCursor(db.cachedStatement(sql: page.sql), arguments: arguments).map(Self.flow(from:)))
        }
    }

    public func flowTotals(year: Int, country: String?) async throws -> [FlowTotal] {
        try await self.database.read { db in try Self.totals(db, year: year, country: country) }
    }

    /// The maintained totals of a year: a primary-key range of a few hundred rows.
    static func totals(_ db: Database, year: Int, country: String?) throws -> [FlowTotal] {
        var sql = "SELECT \(FlowTotal.storedColumns) FROM trade_flow_total WHERE year = ? AND flow_count > 0"
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
                FlowTotal.stored((row[0], row[1], row[2], row[3], row[4], row[5]))
            })
    }

    static func flow(from row: Row) -> TradeFlow {
        // By position, in the order of `TradeFlow.storedColumns`.
        TradeFlow.stored((row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8], row[9]))
    }
}
