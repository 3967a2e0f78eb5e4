import CaravanCore
import CaravanEcho
import CaravanEchoAPI
import CaravanServer
import CaravanTCP
import NIOCore
import Synchronization

/// Runs `body` with an RPCServer on 127.0.0.1 and an ephemeral port, then
/// shuts the server down gracefully and waits for it.
func withServer<Result: Sendable>(
    services: [any RPCService] = [EchoService()],
    configuration: ServerConfiguration = ServerConfiguration(),
    interceptors: [any ServerInterceptor] = [],
    _ body: (RPCServer, Int) async throws -> Result
) async throws -> Result {
    var configuration = configuration
    configuration.host = "127.0.0.1"
    configuration.port = 0
    let server = RPCServer(services: services, configuration: configuration, interceptors: interceptors)
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await server.run() }
        let port = try await server.listeningAddress.port!
        do {
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
func withClient<Result: Sendable>(
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

func echoRequest(_ text: String, payload: [UInt8] = []) -> EchoRequest {
    var request = EchoRequest()
    request.text = text
    request.payload = payload
    return request
}

/// Fails the test instead of hanging when `body` takes longer than `limit`.
func withTimeLimit<Result: Sendable>(
    _ limit: Duration = .seconds(20),
    _ body: @escaping @Sendable () async throws -> Result
) async throws -> Result {
    try await withThrowingTaskGroup(of: Result?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: limit)
            return nil
        }
        defer { group.cancelAll() }
        guard let result = try await group.next()! else {
            throw TimeLimitExceeded(limit: limit)
        }
        return result
    }
}

struct TimeLimitExceeded: Error, CustomStringConvertible {
    var limit: Duration
    var description: String { "The test did not finish within \(self.limit)." }
}

/// Records the deadline and trace a handler saw, and makes an outgoing
/// call from inside the handler to show inheritance.
struct ProbeService: EchoServiceProtocol {
    let downstream: @Sendable () -> EchoClient?

    func unary(request: EchoRequest, context: ServerContext) async throws -> EchoResponse {
        var response = EchoResponse()
        let remaining = context.remainingTime.map { $0.components.seconds * 1000 + $0.components.attoseconds / 1_000_000_000_000_000 }
        response.text = remaining.map { "\($0)" } ?? "none"
        if request.text == "forward", let downstream = self.downstream() {
            // No timeout of its own: the inherited deadline must apply.
            let inner = try await downstream.sleep({
                var sleep = SleepRequest()
                sleep.millis = 5_000
                return sleep
            }())
            response.payload = inner.payload
        }
        return response
    }

    func serverStream(request: StreamRequest, response: RPCWriter<EchoResponse>, context: ServerContext) async throws {}
    func clientStream(request: RPCAsyncSequence<EchoRequest>, context: ServerContext) async throws -> EchoResponse { EchoResponse() }
    func bidiStream(request: RPCAsyncSequence<EchoRequest>, response: RPCWriter<EchoResponse>, context: ServerContext) async throws {}
    func sleep(request: SleepRequest, context: ServerContext) async throws -> EchoResponse {
        try await Task.sleep(for: .milliseconds(Int(request.millis)))
        return EchoResponse()
    }
    func fail(request: FailRequest, context: ServerContext) async throws -> EchoResponse { EchoResponse() }
}

/// A list many tasks append to.
final class LockedList<Element: Sendable>: Sendable {
    private let storage = Mutex<[Element]>([])
    func append(_ element: Element) { self.storage.withLock { $0.append(element) } }
    var values: [Element] { self.storage.withLock { $0 } }
}
