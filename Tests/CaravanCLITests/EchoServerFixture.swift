import CaravanCore
import CaravanServiceKit
import CaravanTestSupport

/// Runs `body` against an echo server on a free loopback port, then stops it.
func withEchoServer<T: Sendable>(_ body: (Endpoint) async throws -> T) async throws -> T {
    try await withServer { _, port in try await body(Endpoint(host: "127.0.0.1", port: port)) }
}
