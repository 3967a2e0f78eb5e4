import CaravanCore
import Foundation
import NIOSSL
import PostgresNIO

/// Where a service's PostgreSQL is and how it uses it, read from a
/// `postgres://` URL and the service's options.
///
/// The URL takes libpq's common form,
/// `postgres://USER:PASSWORD@HOST:PORT/DATABASE?sslmode=…&sslrootcert=…`;
/// `?host=/run/postgresql` instead of a host name connects over that
/// directory's Unix socket. Only these parameters are accepted: a typo is
/// an error, not a silently ignored setting.
public struct PostgresSettings: Sendable {
    /// The URL without its password, for logs.
    public var redactedURL: String
    public var host: String
    public var port: Int
    /// The socket file, when connecting over a Unix socket.
    public var unixSocketPath: String?
    public var username: String
    public var password: String?
    public var database: String
    public var tls: TLSMode

    /// At most this many connections per process (the pool's limit).
    public var maximumConnections = 10
    /// Connections kept open while idle.
    public var minimumConnections = 0
    /// How long a call waits for a connection (or to connect) before it
    /// fails with UNAVAILABLE; also each statement's `statement_timeout`
    /// and `lock_timeout` on the server.
    public var callTimeout: Duration = .seconds(5)
    /// How long a service keeps retrying to reach the database at start.
    public var startupTimeout: Duration = .seconds(30)

    public enum TLSMode: String, Sendable {
        /// Plain TCP (loopback, or a network you trust).
        case disable
        /// TLS, with the server's certificate and name verified against the
        /// system's roots or `sslrootcert`.
        case verifyFull = "verify-full"
    }

    /// The CA file from `sslrootcert`, if any.
    public var rootCertificatePath: String?

    public init(url text: String) throws(PostgresSettingsError) {
        guard let components = URLComponents(string: text),
            let scheme = components.scheme, scheme == "postgres" || scheme == "postgresql"
        else {
            throw PostgresSettingsError(
                "must look like postgres://user:password@host:5432/database; got '\(Self.redact(text))'")
        }
        var query: [String: String] = [:]
        for item in components.queryItems ?? [] {
            guard Self.knownParameters.contains(item.name) else {
                throw PostgresSettingsError(
                    "unknown parameter '\(item.name)'; known: \(Self.knownParameters.sorted().joined(separator: ", "))")
            }
            query[item.name] = item.value ?? ""
        }
        self.port = components.port ?? 5432
        self.host = components.host ?? ""
        if let socketDirectory = query["host"], socketDirectory.hasPrefix("/") {
            self.unixSocketPath = "\(socketDirectory)/.s.PGSQL.\(self.port)"
        } else if let host = query["host"] {
            self.host = host
        }
        guard !self.host.isEmpty || self.unixSocketPath != nil else {
            throw PostgresSettingsError("names no host: '\(Self.redact(text))'")
        }
        self.username = components.user.flatMap { $0.removingPercentEncoding } ?? "postgres"
        self.password = components.password.flatMap { $0.removingPercentEncoding }
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        self.database = path.isEmpty ? self.username : (path.removingPercentEncoding ?? path)
        switch query["sslmode"] ?? "disable" {
        case "disable": self.tls = .disable
        case "verify-full", "require": self.tls = .verifyFull
        case let other:
            throw PostgresSettingsError(
                "sslmode must be disable, require or verify-full (both verify the server); got '\(other)'")
        }
        self.rootCertificatePath = query["sslrootcert"]
        self.redactedURL = Self.redact(text)
    }

    static let knownParameters: Set<String> = ["sslmode", "sslrootcert", "host"]

    /// The URL with its password replaced by `***`.
    public static func redact(_ text: String) -> String {
        guard var components = URLComponents(string: text), components.password != nil else { return text }
        components.password = "***"
        return components.string ?? "postgres://***"
    }

    /// The client's configuration: pool limits, timeouts, TLS, and the
    /// server-side timeouts every session starts with.
    public func clientConfiguration() throws -> PostgresClient.Configuration {
        var configuration: PostgresClient.Configuration
        if let socket = self.unixSocketPath {
            configuration = .init(
                unixSocketPath: socket, username: self.username, password: self.password, database: self.database)
        } else {
            let tls: PostgresClient.Configuration.TLS
            switch self.tls {
            case .disable:
                tls = .disable
            case .verifyFull:
                var context = TLSConfiguration.makeClientConfiguration()
                if let root = self.rootCertificatePath {
                    context.trustRoots = .file(root)
                }
                tls = .require(context)
            }
            configuration = .init(
                host: self.host, port: self.port, username: self.username, password: self.password,
                database: self.database, tls: tls)
        }
        configuration.options.maximumConnections = self.maximumConnections
        configuration.options.minimumConnections = self.minimumConnections
        configuration.options.connectTimeout = self.callTimeout
        let milliseconds = String(self.callTimeout.totalMilliseconds)
        // A statement that waits on a lock or runs away ends on the server
        // too, instead of holding a pooled connection after the caller gave up.
        configuration.options.additionalStartupParameters = [
            ("statement_timeout", milliseconds), ("lock_timeout", milliseconds),
            ("idle_in_transaction_session_timeout", String(self.callTimeout.totalMilliseconds * 4)),
            ("application_name", "caravan"),
        ]
        return configuration
    }
}

/// A `--database` URL or option that cannot be used, and why.
public struct PostgresSettingsError: Error, CustomStringConvertible {
    public var description: String
    public init(_ reason: String) { self.description = "--database \(reason)" }
}
