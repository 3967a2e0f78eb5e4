import CaravanCore
import CaravanServiceKit
import CaravanTCP
import Foundation
import Logging

/// Everything the gateway executable decides from flags and environment.
public struct GatewaySettings: Sendable {
    public var server: ServerConfiguration
    /// Replica addresses per backend; names are resolved and re-resolved.
    public var backends: [Backend: [Endpoint]]
    public var pool: BackendPoolConfiguration
    public var client: ClientConfiguration
    public var split: DeadlineSplit
    public var logLevel: Logger.Level
    /// The HTTP/JSON door's port; nil turns it off.
    public var httpPort: Int? = 8080
    /// The deadline of an HTTP request that sets none.
    public var httpTimeout: Duration = .seconds(5)
    /// Tokens, rate limits and the service token (docs/SECURITY.md).
    public var security = GatewaySecurity()

    /// The gateway's handlers only wait on other servers and never block,
    /// so they run on the connection's event loop: no hand-off to Swift's
    /// global executor and back per call (overviews/s at C=64 +17–70 % in
    /// A/B runs; see docs/BENCHMARKS.md).
    public init(
        server: ServerConfiguration = ServerConfiguration(host: "127.0.0.1", port: 7000, handlerExecution: .eventLoop),
        backends: [Backend: [Endpoint]] = [:],
        pool: BackendPoolConfiguration = .defaults,
        client: ClientConfiguration = GatewaySettings.defaultClient,
        split: DeadlineSplit = .defaults,
        logLevel: Logger.Level = .info
    ) {
        self.server = server
        self.backends = backends
        self.pool = pool
        self.client = client
        self.split = split
        self.logLevel = logLevel
    }

    /// Reconnects quickly (a restarted backend is back in about a second)
    /// and waits briefly for a connection, since another replica may answer.
    /// Pings after 5 s of silence: a replica behind a cut link shows as
    /// unhealthy (its health watch ends) within about 8 s, not 40.
    public static var defaultClient: ClientConfiguration {
        ClientConfiguration(
            connectionsPerEndpoint: 2, connectTimeout: .seconds(1), initialBackoff: .milliseconds(50),
            maxBackoff: .seconds(1), keepaliveInterval: .seconds(5), keepaliveTimeout: .seconds(3))
    }

    /// Parses a backends file: one `service = host:port[, host:port…]` per
    /// line (`trade`, `logistics`, `training`); `#` starts a comment.
    public static func parseBackendsFile(_ text: String) throws(GatewayConfigurationError) -> [Backend: [Endpoint]] {
        var backends: [Backend: [Endpoint]] = [:]
        for (number, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            if line.trimmingCharacters(in: .whitespaces).isEmpty { continue }
            let parts = line.split(separator: "=", maxSplits: 1)
            guard parts.count == 2,
                let backend = Backend(rawValue: parts[0].trimmingCharacters(in: .whitespaces).lowercased()),
                let endpoints = Self.parseEndpoints(String(parts[1]))
            else {
                throw GatewayConfigurationError(
                    description: "line \(number + 1): expected `trade|logistics|training = host:port[,host:port…]`, got `\(rawLine)`")
            }
            backends[backend, default: []] += endpoints
        }
        return backends
    }

    /// Parses `host:port,host:port` (blank entries ignored).
    public static func parseEndpoints(_ text: String) -> [Endpoint]? {
        var endpoints: [Endpoint] = []
        for part in text.split(separator: ",") {
            let trimmed = part.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            guard let endpoint = Endpoint(trimmed) else { return nil }
            endpoints.append(endpoint)
        }
        return endpoints
    }
}

/// A configuration the gateway cannot use, and why.
public struct GatewayConfigurationError: Error, CustomStringConvertible {
    public var description: String
}
