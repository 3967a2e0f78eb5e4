import CaravanCore
import CaravanServiceKit
import CaravanTCP

/// Runs `body` with a client connected to `endpoint`, keeping the
/// connection pool alive for the duration and closing it after. Each call
/// of the client has `timeout` from its start, unless it sets a deadline.
public func withClient<Result: Sendable>(
    _ endpoint: Endpoint,
    configuration: ClientConfiguration = .defaults,
    timeout: Duration? = nil,
    retryPolicy: RetryPolicy = .defaults,
    retryThrottle: RetryThrottle = RetryThrottle(),
    _ body: @Sendable (RPCClient) async throws -> Result
) async throws -> Result {
    let transport = TCPClientTransport(host: endpoint.host, port: endpoint.port, configuration: configuration)
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { await transport.run() }
        defer {
            transport.close()
        }
        let client = RPCClient(
            transport: transport, defaultTimeout: timeout, retryPolicy: retryPolicy, retryThrottle: retryThrottle)
        let result = try await body(client)
        return result
    }
}
