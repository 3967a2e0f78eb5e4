import CaravanCore
import Foundation

/// What a write recorded under an idempotency key.
public struct RecordedWrite: Sendable, Equatable {
    public var method: String
    public var request: [UInt8]
    public var response: [UInt8]

    public init(method: String, request: [UInt8], response: [UInt8]) {
        self.method = method
        self.request = request
        self.response = response
    }
}

/// The ledger's two primitives, which each store's write transaction
/// offers (SQLite and PostgreSQL keep the same `idempotency_key` table).
public protocol IdempotencyLedgerStore {
    /// Claims `key` for the write under way — records it with an empty
    /// response — and answers nil; when another write holds the key
    /// already, answers what that one recorded instead. On a database
    /// several writers share, a claim by a write not yet committed makes
    /// this wait for that write's outcome.
    nonisolated(nonsending) func claimIdempotencyKey(
        _ key: String, method: String, request: [UInt8], at time: Double
    ) async throws -> RecordedWrite?

    /// Records the response of the write that claimed `key`.
    nonisolated(nonsending) func recordIdempotentResponse(key: String, response: [UInt8]) async throws
}

/// Records writes by idempotency key, in the same transaction as the
/// write: a key seen before answers with the first answer and writes
/// nothing; a key reused for a different request is refused with
/// INVALID_ARGUMENT. One algorithm for every service and both stores.
///
/// The key is claimed *before* the write: on PostgreSQL a second
/// transaction with the same key — on this replica or another — waits on
/// the claimed row until the first commits, then answers as it did (or,
/// if the first rolled back, claims the key itself). Reading first and
/// recording last would let both write.
public enum IdempotencyLedger {
    public nonisolated(nonsending) static func once<Response: ProtoMessage>(
        _ write: IdempotentWrite,
        in store: some IdempotencyLedgerStore,
        _ body: nonisolated(nonsending) () async throws -> Response
    ) async throws -> Response {
        guard let key = try write.checkedKey() else { return try await body() }
        if let recorded = try await store.claimIdempotencyKey(
            key, method: write.method, request: write.request, at: Date().timeIntervalSince1970)
        {
            guard recorded.method == write.method, recorded.request == write.request else {
                throw write.reusedKey(key)
            }
            return try decodeMessage(Response.self, from: recorded.response, failureCode: .internal)
        }
        let response = try await body()
        try await store.recordIdempotentResponse(
            key: key, response: try encodeMessage(response, failureCode: .internal))
        return response
    }
}

/// A write request that carries its own idempotency key field.
public protocol IdempotentRequest: ProtoMessage {
    var idempotencyKey: String { get set }
}

extension IdempotentWrite {
    /// The idempotency record of `request`: its key is the request's own
    /// field if set, else the `idempotency-key` the call carried (both set
    /// to different values is INVALID_ARGUMENT: the caller cannot mean
    /// both); the request is compared without the key, so a retry may move
    /// the key from the field to the header.
    public init(_ request: some IdempotentRequest, context: ServerContext) throws(RPCError) {
        let key = try Self.key(request: request.idempotencyKey, header: context.idempotencyKey ?? "")
        var unkeyed = request
        unkeyed.idempotencyKey = ""
        self.init(
            key: key, method: context.descriptor.path, request: try encodeMessage(unkeyed, failureCode: .internal))
    }

    static func key(request value: String, header: String) throws(RPCError) -> String? {
        switch (value.isEmpty, header.isEmpty) {
        case (true, true): return nil
        case (false, true): return value
        case (true, false): return header
        case (false, false):
            guard value == header else {
                throw RPCError.invalidArgument(
                    field: "idempotency_key",
                    "\"\(value)\" differs from the call's idempotency-key \"\(header)\"; send one")
            }
            return value
        }
    }
}

/// A store's write transaction whose ledger primitives are those of the
/// connection or transaction it wraps.
public protocol IdempotencyLedgerForwarding: IdempotencyLedgerStore {
    associatedtype Ledger: IdempotencyLedgerStore
    var ledger: Ledger { get }
}

extension IdempotencyLedgerForwarding {
    public nonisolated(nonsending) func claimIdempotencyKey(
        _ key: String, method: String, request: [UInt8], at time: Double
    ) async throws -> RecordedWrite? {
        try await self.ledger.claimIdempotencyKey(key, method: method, request: request, at: time)
    }

    public nonisolated(nonsending) func recordIdempotentResponse(key: String, response: [UInt8]) async throws {
        try await self.ledger.recordIdempotentResponse(key: key, response: response)
    }
}
