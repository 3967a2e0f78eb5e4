import CaravanCore
import CaravanEcho
import CaravanEchoAPI
import CaravanServer
import CaravanTCP
import NIOCore
import NIOPosix
import Testing

extension ServerConfiguration {
    /// The defaults without admission control. Its refusals follow the
    /// latency the machine gives, which on a shared machine is noise to
    /// every test but those of admission control, which turn it on.
    public static var withoutAdmission: ServerConfiguration {
        var configuration = ServerConfiguration()
        configuration.admission = nil
        return configuration
    }
}

/// Runs `body` with an RPCServer on 127.0.0.1 and an ephemeral port, then
/// shuts the server down gracefully and waits for it.
public func withServer<Result: Sendable>(
    services: [any RPCService] = [EchoService()],
    configuration: ServerConfiguration = .withoutAdmission,
    interceptors: [any ServerInterceptor] = [],
    _ body: (RPCServer, Int) async throws -> Result
) async throws -> Result {
    var configuration = configuration
    configuration.host = "127.0.0.1"
    configuration.port = 0
    return try await withServer(
        RPCServer(services: services, configuration: configuration, interceptors: interceptors), body)
}

/// Runs `server` for `body` (given the port it listens on), then shuts it
/// down gracefully and waits for it.
public func withServer<Result: Sendable>(
    _ server: RPCServer, _ body: (RPCServer, Int) async throws -> Result
) async throws -> Result {
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await server.run() }
        do {
            let port = try await server.listeningAddress.port!
            let result = try await body(server, port)
            server.beginGracefulShutdown()
            try await group.waitForAll()
            return result
        } catch {
            server.beginGracefulShutdown()
            group.cancelAll()
            throw error
        }
    }
}

/// Runs `body` with a client of 127.0.0.1:`port`.
public func withClient<Result: Sendable>(
    port: Int,
    configuration: ClientConfiguration = ClientConfiguration(),
    retryPolicy: RetryPolicy = .none,
    _ body: (RPCClient, TCPClientTransport) async throws -> Result
) async throws -> Result {
    let transport = TCPClientTransport(host: "127.0.0.1", port: port, configuration: configuration)
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { await transport.run() }
        defer { transport.close() }
        return try await body(RPCClient(transport: transport, retryPolicy: retryPolicy), transport)
    }
}

public func echoRequest(_ text: String, payload: [UInt8] = []) -> EchoRequest {
    var request = EchoRequest()
    request.text = text
    request.payload = payload
    return request
}

/// Runs `body`, which must fail with `code`; returns the error's message.
/// With `text`, the message must mention it; with `field`, it must begin
/// with "`field`:" (how validation errors name the field).
@discardableResult
public func expectRPCError(
    _ code: RPCError.Code,
    mentioning text: String? = nil,
    field: String? = nil,
    sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () async throws -> Void
) async -> String? {
    guard let error = await rpcError(sourceLocation: sourceLocation, body) else { return nil }
    #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
    if let text {
        #expect(
            error.message.contains(text), "\"\(error.message)\" should mention \(text)", sourceLocation: sourceLocation)
    }
    if let field {
        #expect(
            error.message.hasPrefix(field + ":"), "message does not name \(field): \(error.message)",
            sourceLocation: sourceLocation)
    }
    return error.message
}

/// The RPC error `body` throws; records an issue when it succeeds or throws something else.
public func rpcError(
    sourceLocation: SourceLocation = #_sourceLocation, _ body: () async throws -> some Any
) async -> RPCError? {
    do {
        _ = try await body()
        Issue.record("expected an RPC error, but the call succeeded", sourceLocation: sourceLocation)
        return nil
    } catch let error as RPCError {
        return error
    } catch {
        Issue.record("expected an RPC error, got \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

/// Runs `body` with a client of `server` (no retries: a test sees each first answer).
public func withClient<Result: Sendable>(
    _ server: ServerProcess, _ body: (RPCClient) async throws -> Result
) async throws -> Result {
    let port = try #require(Int(server.address.split(separator: ":").last ?? ""), "no port in \(server.address)")
    return try await withClient(port: port) { client, _ in try await body(client) }
}

/// A loopback port nothing listens on (bound, then released).
public func unusedPort() async throws -> Int {
    let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .bind(host: "127.0.0.1", port: 0).get()
    let port = channel.localAddress!.port!
    try await channel.close()
    return port
}
