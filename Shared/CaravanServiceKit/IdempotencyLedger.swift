import CaravanCore
import Foundation
import GRDB

/// Records writes by idempotency key, in the same transaction as the
/// write: a key seen before answers with the first answer and writes
/// nothing; a key reused for a different request is refused.
public enum IdempotencyLedger {
    /// Adds the ledger's table to a service's migrations.
    public static func registerMigration(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("idempotency-ledger-v1") { db in
            try db.create(table: "idempotency_key") { table in
                table.primaryKey("key", .text)
                table.column("method", .text).notNull()
                table.column("request", .blob).notNull()
                table.column("response", .blob).notNull()
                table.column("created_at", .double).notNull()
            }
        }
    }

    /// Runs `write` once per key. Call inside a write transaction.
    ///
    /// - Parameters:
    ///   - key: the caller's idempotency key; nil or empty runs `write` unguarded.
    ///   - method: the method path, so one key cannot answer another method.
    ///   - request: the serialized request, to spot a key reused for other content.
    public static func once<Response: ProtoMessage>(
        _ db: Database,
        key: String?,
        method: String,
        request: [UInt8],
        _ write: () throws -> Response
    ) throws -> Response {
        let idempotent = IdempotentWrite(key: key, method: method, request: request)
        guard let key = try idempotent.checkedKey() else { return try write() }
        if let row = try Row.fetchOne(
            db.cachedStatement(sql: "SELECT method, request, response FROM idempotency_key WHERE key = ?"),
            arguments: [key])
        {
            let storedMethod: String = row["method"]
            let storedRequest: Data = row["request"]
            guard storedMethod == method, [UInt8](storedRequest) == request else {
                throw idempotent.reusedKey(key)
            }
            let storedResponse: Data = row["response"]
            return try Response(serializedBytes: [UInt8](storedResponse))
        }
        let response = try write()
        try db.execute(
            sql: "INSERT INTO idempotency_key (key, method, request, response, created_at) VALUES (?, ?, ?, ?, ?)",
            arguments: [
                key, method, Data(request), Data(try response.serializedBytes()),
                Date().timeIntervalSince1970,
            ])
        return response
    }
}

extension IdempotencyLedger {
    /// Runs `write` once per key of `idempotent` (see ``once(_:key:method:request:_:)``).
    public static func once<Response: ProtoMessage>(
        _ db: Database,
        _ idempotent: IdempotentWrite,
        _ write: () throws -> Response
    ) throws -> Response {
        try Self.once(db, key: idempotent.key, method: idempotent.method, request: idempotent.request, write)
    }
}
