extension Metadata {
    /// Keys whose values are secrets: never written to a log.
    public static let sensitiveKeys: Set<String> = [
        "authorization", "x-caravan-service-token", "cookie", "proxy-authorization",
    ]

    /// Whether `key`'s values must not be logged: the keys above, and any
    /// key naming a token, secret or password.
    public static func isSensitive(_ key: String) -> Bool {
        let key = key.lowercased()
        return Self.sensitiveKeys.contains(key) || key.hasSuffix("-token") || key.contains("secret")
            || key.contains("password")
    }

    /// The entries as `key: value` text for a log line, secrets replaced by `<redacted>`.
    public var redactedDescription: String {
        self.map { element in
            "\(element.key): \(Self.isSensitive(element.key) ? "<redacted>" : element.value.description)"
        }.joined(separator: ", ")
    }
}
