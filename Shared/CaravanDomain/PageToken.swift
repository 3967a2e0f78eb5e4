import CaravanCore

/// Opaque page tokens for keyset pagination.
///
/// A token carries the last key of the page it ends and a fingerprint of
/// the filter it was issued for, with a checksum. A token that fails to
/// parse, fails its checksum or was issued for another filter is refused
/// with INVALID_ARGUMENT naming `page_token`. The checksum keeps out tokens
/// this service did not issue; it is not a secret (a forged token can only
/// list what its bearer could list anyway).
public struct PageToken: Hashable, Sendable {
    /// The last key returned on the previous page.
    public var lastKey: Int64

    public init(lastKey: Int64) {
        self.lastKey = lastKey
    }

    /// Encodes the token for `filter` (any string that identifies the query).
    public func encode(filter: String) -> String {
        let body = "1.\(self.lastKey).\(Self.fingerprint(filter))"
        return body + "." + String(Self.checksum(body), radix: 36)
    }

    /// Decodes `text`; nil for an empty token (the first page).
    public static func decode(_ text: String, filter: String) throws(RPCError) -> PageToken? {
        guard !text.isEmpty else { return nil }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "1", let lastKey = Int64(parts[1]),
            String(Self.checksum(parts[0..<3].joined(separator: ".")), radix: 36) == parts[3]
        else {
            throw RPCError.invalidArgument(field: "page_token", "was not issued by this service")
        }
        guard UInt64(parts[2]) == Self.fingerprint(filter) else {
            throw RPCError.invalidArgument(field: "page_token", "belongs to a different query; start again without it")
        }
        return PageToken(lastKey: lastKey)
    }

    private static func fingerprint(_ text: String) -> UInt64 { Self.fnv1a("caravan.filter|" + text) }
    private static func checksum(_ text: String) -> UInt64 { Self.fnv1a("caravan.page-token|" + text) }

    /// FNV-1a: stable across processes and replicas (Swift's Hasher is seeded per process).
    private static func fnv1a(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01B3
        }
        return hash
    }
}
