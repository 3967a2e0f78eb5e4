import CaravanDomain

extension SQLiteConnection: IdempotencyLedgerStore {
    /// The ledger's table, for a service's migrations (the name GRDB's
    /// migrator recorded it under, so older files skip it).
    public static let idempotencyLedgerMigration = SQLiteMigration(
        "idempotency-ledger-v1",
        script: """
            CREATE TABLE IF NOT EXISTS idempotency_key (
                key TEXT PRIMARY KEY NOT NULL,
                method TEXT NOT NULL,
                request BLOB NOT NULL,
                response BLOB NOT NULL,
                created_at DOUBLE NOT NULL
            )
            """)

    public nonisolated(nonsending) func claimIdempotencyKey(
        _ key: String, method: String, request: [UInt8], at time: Double
    ) async throws -> RecordedWrite? {
        try self.execute(
            "INSERT OR IGNORE INTO idempotency_key (key, method, request, response, created_at) VALUES (?, ?, ?, x'', ?)",
            key, method, SQLiteBlob(request), time)
        guard self.changes == 0 else { return nil }
        return try self.one("SELECT method, request, response FROM idempotency_key WHERE key = ?", key) { row in
            RecordedWrite(method: row.text(0), request: row.blob(1), response: row.blob(2))
        }
    }

    public nonisolated(nonsending) func recordIdempotentResponse(key: String, response: [UInt8]) async throws {
        try self.execute("UPDATE idempotency_key SET response = ? WHERE key = ?", SQLiteBlob(response), key)
    }
}
