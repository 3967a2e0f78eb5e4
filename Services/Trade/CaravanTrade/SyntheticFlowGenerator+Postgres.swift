import CaravanCore
import CaravanPostgres
import CaravanTradeAPI
import Foundation
import Logging
import PostgresNIO

extension SyntheticFlowGenerator {
    /// Flows per INSERT into PostgreSQL: big enough that per-statement
    /// costs vanish, small enough that each statement ends well within the
    /// server's `statement_timeout`.
    static let postgresBatchSize = 5_000

    /// Writes `count` synthetic flows into PostgreSQL in one transaction
    /// (all or none), in batched multi-row INSERTs, then refreshes the
    /// planner's statistics. The same seed writes the same flows as into
    /// SQLite. Returns how many were written.
    @discardableResult
    public func generate(
        count: Int, into pool: PostgresPool, logger: Logger = Logger(label: "caravan.trade")
    ) async throws -> Int {
        guard count > 0 else { return 0 }
        let generator = self
        do {
            // Through the client rather than `pool.transaction`, which bounds
            // a whole call by the call timeout: a million flows take longer
            // than any RPC should. Each statement is still bounded on the server.
            try await pool.client.withConnection { connection in
                try await connection.withTransaction(logger: logger) { connection in
                    var random = SplitMix64(seed: generator.seed)
                    let now = Date().unixSeconds
                    var remaining = count
                    while remaining > 0 {
                        let size = min(remaining, Self.postgresBatchSize)
                        var batch: [TradeFlow] = []
                        batch.reserveCapacity(size)
                        for _ in 0..<size { batch.append(generator.flow(&random, recordedAt: now)) }
                        try await PostgresTradeStore.insert(batch, connection, logger: logger)
                        remaining -= size
                    }
                }
            }
        } catch {
            throw RPCError(postgres: error)
        }
        // After the commit, as on SQLite, so the planner sees the new rows;
        // and the totals, updated once per batch, shed their old versions
        // (a yearly summary would otherwise step over them until autovacuum).
        try await pool.read { connection, logger in
            try await connection.query("ANALYZE trade_flow", logger: logger)
            try await connection.query("VACUUM (ANALYZE) trade_flow_total", logger: logger)
        }
        return count
    }
}
