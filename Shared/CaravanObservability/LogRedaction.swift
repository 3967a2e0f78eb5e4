import Logging

/// Which metadata keys hold secrets: their values never reach a log line.
///
/// A key is sensitive when it equals one of ``keys`` or ends with one of
/// ``suffixes`` (case-insensitive), at any depth of nested metadata.
public struct LogRedaction: Sendable, Hashable {
    /// Keys redacted wherever they appear (lowercase).
    public var keys: Set<String>
    /// Key endings redacted wherever they appear (lowercase).
    public var suffixes: [String]

    /// What replaces a sensitive value.
    public static let mask = "[REDACTED]"

    public init(keys: Set<String>, suffixes: [String]) {
        self.keys = Set(keys.map { $0.lowercased() })
        self.suffixes = suffixes.map { $0.lowercased() }
    }

    /// Credentials in HTTP headers and call metadata, and any key ending
    /// in `-token`, `_token`, `-secret` or `-password`.
    public static let defaults = LogRedaction(
        keys: [
            "authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "password", "secret", "token",
        ],
        suffixes: ["-token", "_token", "-secret", "_secret", "-password", "_password"]
    )

    /// The defaults plus `extra` keys (e.g. from `--log-redact`).
    public func adding(keys extra: some Sequence<String>) -> LogRedaction {
        LogRedaction(keys: self.keys.union(extra.map { $0.lowercased() }), suffixes: self.suffixes)
    }

    public func isSensitive(_ key: String) -> Bool {
        let key = key.lowercased()
        return self.keys.contains(key) || self.suffixes.contains { key.hasSuffix($0) }
    }

    /// `metadata` with every sensitive value masked, nested ones included.
    public func redact(_ metadata: Logger.Metadata) -> Logger.Metadata {
        var result = metadata
        for (key, value) in metadata {
            result[key] = self.isSensitive(key) ? .string(Self.mask) : self.redact(value)
        }
        return result
    }

    private func redact(_ value: Logger.MetadataValue) -> Logger.MetadataValue {
        switch value {
        case .dictionary(let dictionary): return .dictionary(self.redact(dictionary))
        case .array(let values): return .array(values.map { self.redact($0) })
        case .string, .stringConvertible: return value
        }
    }
}
