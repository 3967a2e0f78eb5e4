import CaravanCore
import CaravanPostgres
import CaravanTradeAPI
import Foundation
import Logging
import PostgresNIO

extension PostgresTradeStore {
    public func recordFlow(_ flow: TradeFlow, claim: IdempotencyClaim?) async throws -> RecordFlowResponse {
        try await self.pool.transaction { connection, logger in
            try await PostgresIdempotencyLedger.once(connection, IdempotentWrite(claim), logger: logger) {
                var stored = flow
                stored.recordedAtUnixSeconds = Date().unixSeconds
                let rows = try await connection.query(
                    """
                    INSERT INTO trade_flow
                        (year, month, country, direction, category, value_usd, source, synthetic, recorded_at)
                    VALUES (\(Int64(stored.year)), \(Int64(stored.month)), \(stored.country),
                        \(Int64(stored.direction.rawValue)), \(stored.category), \(stored.valueUsd), \(stored.source),
                        \(stored.synthetic), \(stored.recordedAtUnixSeconds))
                    RETURNING id
                    """, logger: logger)
                for try await id in rows.decode(Int64.self) {
                    stored.id = String(id)
                }
                return RecordFlowResponse(flow: stored)
            }
        }
    }

    /// Inserts `flows` with one statement, in their order (ids ascend with
    /// it): one array per column, unnested, so the statement and its
    /// binds stay the same size however many rows it carries. The totals
    /// trigger runs once for the whole batch.
    static func insert(_ flows: [TradeFlow], _ connection: PostgresConnection, logger: Logger) async throws {
        guard !flows.isEmpty else { return }
        try await connection.query(
            """
            INSERT INTO trade_flow
                (year, month, country, direction, category, value_usd, source, synthetic, recorded_at)
            SELECT year, month, country, direction, category, value_usd, source, synthetic, recorded_at
            FROM unnest(\(flows.map { Int64($0.year) }), \(flows.map { Int64($0.month) }), \(flows.map(\.country)),
                \(flows.map { Int64($0.direction.rawValue) }), \(flows.map(\.category)), \(flows.map(\.valueUsd)),
                \(flows.map(\.source)), \(flows.map(\.synthetic)), \(flows.map(\.recordedAtUnixSeconds)))
                WITH ORDINALITY AS batch
                (year, month, country, direction, category, value_usd, source, synthetic, recorded_at, position)
            ORDER BY position
            """, logger: logger)
    }

    public func flow(id: Int64) async throws -> TradeFlow? {
        try await self.pool.read { connection, logger in
            let rows = try await connection.query(
                "SELECT \(unescaped: TradeFlow.storedColumns) FROM trade_flow WHERE id = \(id)", logger: logger)
            return try await Self.flows(rows).first
        }
    }

    public func flows(matching query: FlowQuery, after cursor: FlowCursor?, limit: Int) async throws -> [TradeFlow] {
        let page = FlowPageQuery(query, after: cursor, limit: limit) { "$\($0)" }
        return try await self.pool.read { connection, logger in
            let rows = try await connection.query(
                PostgresQuery(unsafeSQL: page.sql, binds: Self.binds(page.arguments)), logger: logger)
            return try await Self.flows(rows)
        }
    }

    /// The flows of rows selecting `TradeFlow.storedColumns`.
    static func flows(_ rows: PostgresRowSequence) async throws -> [TradeFlow] {
        var flows: [TradeFlow] = []
        for try await row in rows.decode(
            (Int64, Int64, Int64, String, Int64, String, Double, String, Bool, Int64).self)
        {
            flows.append(TradeFlow.stored(row))
        }
        return flows
    }

    static func binds(_ arguments: [FlowPageQuery.Argument]) -> PostgresBindings {
        var binds = PostgresBindings(capacity: arguments.count)
        for argument in arguments {
            switch argument {
            case .integer(let value): binds.append(value)
            case .text(let value): binds.append(value)
            }
        }
        return binds
    }

    public func flowTotals(year: Int, country: String?) async throws -> [FlowTotal] {
        try await self.pool.read { connection, logger in
            try await Self.totals(connection, year: year, country: country, logger: logger)
        }
    }

    /// The maintained totals of a year: a primary-key range of a few hundred rows.
    static func totals(_ connection: PostgresConnection, year: Int, country: String?, logger: Logger)
        async throws -> [FlowTotal]
    {
        var sql = "SELECT \(FlowTotal.storedColumns) FROM trade_flow_total WHERE year = $1 AND flow_count > 0"
        var arguments: [FlowPageQuery.Argument] = [.integer(Int64(year))]
        if let country {
            sql += " AND country = $2"
            arguments.append(.text(country))
        }
        // In key order, as SQLite's primary-key range reads them, so the
        // sums of a summary are added up in the same order every time.
        sql += " ORDER BY country, direction, category, synthetic"
        let rows = try await connection.query(
            PostgresQuery(unsafeSQL: sql, binds: Self.binds(arguments)), logger: logger)
        var totals: [FlowTotal] = []
        for try await row in rows.decode((String, Int64, String, Bool, Double, Int64).self) {
            totals.append(FlowTotal.stored(row))
        }
        return totals
    }
}
