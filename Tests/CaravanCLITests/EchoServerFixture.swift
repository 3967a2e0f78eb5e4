import CaravanCore
import CaravanEcho
import CaravanServer
import CaravanServiceKit
import CaravanTCP
import NIOCore

/// Runs `body` against an echo server on a free loopback port, then stops it.
func withEchoServer<T: Sendable>(_ body: (Endpoint) async throws -> T) async throws -> T {
    let server = RPCServer(services: [EchoService()], configuration: ServerConfiguration(host: "127.0.0.1", port: 0))
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await server.run() }
        let port = try await server.listeningAddress.port!
        let result = try await body(Endpoint(host: "127.0.0.1", port: port))
        server.beginGracefulShutdown()
        try await group.waitForAll()
        return result
    }
}
