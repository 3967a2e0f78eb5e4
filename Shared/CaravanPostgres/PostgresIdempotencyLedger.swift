import CaravanCore
import Foundation
import Logging
import PostgresNIO

/// The idempotency ledger on PostgreSQL: the same table and rules as the
/// SQLite one (`IdempotencyLedger` in CaravanServiceKit), made safe for
/// several replicas writing at once.
///
/// The key is claimed *first*, by inserting it with an empty response:
/// the unique key makes a second transaction with the same key — on this
/// replica or another — wait on that row until the first commits, then
/// see the committed answer and return it (or, if the first rolled back,
/// claim the key itself). Reading first and inserting last, as the SQLite
/// ledger can behind its single writer, would let both do the write.
public enum PostgresIdempotencyLedger {
    public static let migration = PostgresMigration(
        "idempotency-ledger-v1",
        statements: [
            """
            CREATE TABLE idempotency_key (
                key TEXT PRIMARY KEY,
                method TEXT NOT NULL,
                request BYTEA NOT NULL,
                response BYTEA NOT NULL,
                created_at DOUBLE PRECISION NOT NULL
            )
            """
        ])

    /// Runs `write` once per key of `idempotent`. Call inside a transaction.
    public static func once<Response: ProtoMessage>(
        _ connection: PostgresConnection,
        _ idempotent: IdempotentWrite,
        logger: Logger,
        _ write: () async throws -> Response
    ) async throws -> Response {
        guard let key = try idempotent.checkedKey() else { return try await write() }
        let claimed = try await connection.query(
            """
            INSERT INTO idempotency_key (key, method, request, response, created_at)
            VALUES (\(key), \(idempotent.method), \(Data(idempotent.request)), '\\x'::bytea, \(Date().timeIntervalSince1970))
            ON CONFLICT (key) DO NOTHING RETURNING 1
            """, logger: logger
        ).collect()
        guard claimed.isEmpty else {
            let response = try await write()
            try await connection.query(
                "UPDATE idempotency_key SET response = \(Data(try response.serializedBytes())) WHERE key = \(key)",
                logger: logger)
            return response
        }
        // Someone committed this key first: answer as they did.
        for try await (method, request, response) in try await connection.query(
            "SELECT method, request, response FROM idempotency_key WHERE key = \(key)", logger: logger
        ).decode((String, Data, Data).self) {
            guard method == idempotent.method, [UInt8](request) == idempotent.request else {
                throw idempotent.reusedKey(key)
            }
            return try Response(serializedBytes: [UInt8](response))
        }
        throw RPCError(
            code: .aborted, message: "idempotency_key: \"\(key)\" changed hands during the write; try again.")
    }
}
