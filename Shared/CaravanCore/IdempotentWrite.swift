/// One write's idempotency: the caller's key (nil or empty for none), the
/// method, and the serialized request, which the ledger compares on a repeat.
///
/// Both storage backends keep the same ledger (SQLite's in
/// `CaravanServiceKit`, PostgreSQL's in `CaravanPostgres`).
public struct IdempotentWrite: Sendable, Hashable {
    public var key: String?
    public var method: String
    public var request: [UInt8]

    public init(key: String?, method: String, request: [UInt8]) {
        self.key = key
        self.method = method
        self.request = request
    }

    /// The longest key the ledger stores, in bytes.
    public static let maximumKeyBytes = 256

    /// The key to record, or nil when the write is unguarded; refuses a key
    /// longer than ``maximumKeyBytes``.
    public func checkedKey() throws(RPCError) -> String? {
        guard let key, !key.isEmpty else { return nil }
        guard key.utf8.count <= Self.maximumKeyBytes else {
            throw RPCError.invalidArgument(field: "idempotency_key", "must be at most \(Self.maximumKeyBytes) bytes")
        }
        return key
    }

    /// INVALID_ARGUMENT for a key already used for another method or request.
    public func reusedKey(_ key: String) -> RPCError {
        RPCError(code: .invalidArgument, message: "idempotency_key: \"\(key)\" was already used for a different request.")
    }
}

extension IdempotentWrite {
    /// The key of a write whose message may carry one beside the call's
    /// (docs/PROTOCOL.md, section 8): whichever is set, or both when equal;
    /// two different keys are refused, since one of them is a client's bug.
    public static func key(field: String, header: String?) throws(RPCError) -> String? {
        let header = header.flatMap { $0.isEmpty ? nil : $0 }
        if field.isEmpty { return header }
        if let header, header != field {
            throw RPCError.invalidArgument(
                field: "idempotency_key", "the message's key \"\(field)\" differs from the call's key \"\(header)\"")
        }
        return field
    }
}
