import CaravanCore
import CaravanDomain
import Foundation
import Logging
import PostgresNIO

/// One open PostgreSQL transaction (``PostgresPool/transaction(_:)``): its
/// connection and logger, and the idempotency ledger's primitives, which
/// every service's write transaction offers.
public struct PostgresTransaction: IdempotencyLedgerStore, Sendable {
    public let connection: PostgresConnection
    public let logger: Logger

    public init(connection: PostgresConnection, logger: Logger) {
        self.connection = connection
        self.logger = logger
    }

    /// Runs the prepared statement `text` with `values`; answers its rows.
    public nonisolated(nonsending) func rows<Text: PostgresStatementText, each V: PostgresBindable>(
        _ text: Text.Type, _ values: repeat each V
    ) async throws -> [PostgresRow] {
        try await self.connection.prepared(text, repeat each values, logger: self.logger)
    }

    /// The ledger's table (the same as SQLite's), for a service's migrations.
    public static let idempotencyLedgerMigration = PostgresMigration(
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

    enum ClaimKey: PostgresStatementText {
        // The unique key makes a second claim wait on the first until that
        // transaction ends; ON CONFLICT then answers no row.
        static let sql = """
            INSERT INTO idempotency_key (key, method, request, response, created_at)
            VALUES ($1, $2, $3, '\\x'::bytea, $4) ON CONFLICT (key) DO NOTHING RETURNING 1
            """
    }

    enum RecordedKey: PostgresStatementText {
        static let sql = "SELECT method, request, response FROM idempotency_key WHERE key = $1"
    }

    enum RecordResponse: PostgresStatementText {
        static let sql = "UPDATE idempotency_key SET response = $1 WHERE key = $2"
    }

    public nonisolated(nonsending) func claimIdempotencyKey(
        _ key: String, method: String, request: [UInt8], at time: Double
    ) async throws -> RecordedWrite? {
        guard try await self.rows(ClaimKey.self, key, method, Data(request), time).isEmpty else { return nil }
        // Someone committed this key first: answer as they did.
        guard let row = try await self.rows(RecordedKey.self, key).first else {
            throw RPCError(
                code: .aborted, message: "idempotency_key: \"\(key)\" changed hands during the write; try again.")
        }
        let (method, request, response) = try row.decode((String, Data, Data).self)
        return RecordedWrite(method: method, request: [UInt8](request), response: [UInt8](response))
    }

    public nonisolated(nonsending) func recordIdempotentResponse(key: String, response: [UInt8]) async throws {
        _ = try await self.rows(RecordResponse.self, Data(response), key)
    }
}
