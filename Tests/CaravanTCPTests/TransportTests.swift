import CaravanCore
import CaravanEcho
import CaravanEchoAPI
import CaravanHealthAPI
import CaravanReflectionAPI
import CaravanServer
import CaravanTCP
import CaravanTestSupport
import Synchronization
import Testing

@Suite("TCP transport", .timeLimit(.minutes(2)))
struct TransportTests {
    @Test("A unary call returns its request")
    func unaryEcho() async throws {
        try await withServer { _, port in
            try await withClient(port: port) { client, _ in
                let echo = EchoClient(wrapping: client)
                let response = try await echo.unary(echoRequest("hello", payload: [1, 2, 3, 0, 255]))
                #expect(response.text == "hello")
                #expect(response.payload == [1, 2, 3, 0, 255])
            }
        }
    }

    @Test("Many calls share one connection and finish out of order")
    func multiplexedOutOfOrder() async throws {
        let gated = GatedSleep()
        try await withServer(services: [gated]) { _, port in
            try await withClient(port: port) { client, transport in
                let echo = EchoClient(wrapping: client)
                let longCallDone = LockedList<Bool>()
                // A slow call first (it runs until the test lets it end);
                // quick calls sent after it on the same connection must come
                // back while it is still running.
                let slow = Task {
                    let response = try await echo.sleep(SleepRequest(millis: 0, payload: [9]))
                    longCallDone.append(true)
                    return response
                }
                try await gated.waitUntilStarted()
                for index in 0..<20 {
                    let response = try await echo.unary(echoRequest("quick \(index)"))
                    #expect(response.text == "quick \(index)")
                }
                #expect(longCallDone.values.isEmpty, "the quick calls finished before the slow one")
                gated.open()
                #expect(try await slow.value.payload == [9])
                #expect(transport.configuration.connectionsPerEndpoint == 1)
            }
        }
    }

    @Test("A thousand concurrent calls all succeed")
    func manyConcurrentCalls() async throws {
        try await withServer { _, port in
            try await withClient(port: port) { client, _ in
                let echo = EchoClient(wrapping: client)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for index in 0..<1000 {
                        group.addTask {
                            let response = try await echo.unary(echoRequest("\(index)"))
                            #expect(response.text == "\(index)")
                        }
                    }
                    try await group.waitForAll()
                }
            }
        }
    }

    @Test("Server streaming delivers every message in order")
    func serverStreaming() async throws {
        try await withServer { _, port in
            try await withClient(port: port) { client, _ in
                var request = StreamRequest()
                request.count = 50
                request.payload = [7]
                let texts = try await EchoClient(wrapping: client).serverStream(request) { stream in
                    var texts: [String] = []
                    for try await message in stream { texts.append(message.text) }
                    return texts
                }
                #expect(texts == (0..<50).map { "\($0)" })
            }
        }
    }

    @Test("Client streaming and bidirectional streaming")
    func clientAndBidiStreaming() async throws {
        try await withServer { _, port in
            try await withClient(port: port) { client, _ in
                let echo = EchoClient(wrapping: client)
                let joined = try await echo.clientStream { writer in
                    for word in ["a", "b", "c"] { try await writer.write(echoRequest(word)) }
                }
                #expect(joined.text == "abc")
                let echoed = try await echo.bidiStream(
                    requests: { writer in
                        for word in ["x", "y"] { try await writer.write(echoRequest(word)) }
                    },
                    onResponse: { stream in
                        var texts: [String] = []
                        for try await message in stream { texts.append(message.text) }
                        return texts
                    })
                #expect(echoed == ["x", "y"])
            }
        }
    }

    @Test("A handler's error reaches the caller with its code and message", arguments: [3, 5, 7, 9, 14, 16])
    func statusCodes(code: Int32) async throws {
        try await withServer { _, port in
            try await withClient(port: port) { client, _ in
                var request = FailRequest()
                request.code = code
                request.message = "failed on purpose"
                let error = await #expect(throws: RPCError.self) {
                    _ = try await EchoClient(wrapping: client).fail(request)
                }
                #expect(error?.code.rawValue == code)
                #expect(error?.message == "failed on purpose")
            }
        }
    }

    @Test(
        "The server cancels a handler at its deadline and answers DEADLINE_EXCEEDED",
        arguments: ServerConfiguration.HandlerExecution.allCases)
    func deadlineExceeded(placement: ServerConfiguration.HandlerExecution) async throws {
        try await withServer(configuration: ServerConfiguration(handlerExecution: placement)) { _, port in
            try await withClient(port: port) { client, _ in
                var request = SleepRequest()
                request.millis = 60_000
                let start = ContinuousClock.now
                let error = await #expect(throws: RPCError.self) {
                    _ = try await EchoClient(wrapping: client).sleep(
                        request, options: CallOptions(timeout: .milliseconds(200)))
                }
                #expect(error?.code == .deadlineExceeded)
                // Far sooner than the sleep (the margin is for a busy machine).
                #expect(start.duration(to: .now) < .seconds(30))
            }
        }
    }

    @Test("A handler reads its deadline, and calls it makes inherit it")
    func deadlinePropagation() async throws {
        try await withServer { _, downstreamPort in
            try await withClient(port: downstreamPort) { downstreamClient, _ in
                let downstream = EchoClient(wrapping: downstreamClient)
                try await withServer(services: [ProbeService(downstream: { downstream })]) { _, port in
                    try await withClient(port: port) { client, _ in
                        let probe = EchoClient(wrapping: client)
                        // A long timeout, so that the time the call takes to arrive on
                        // a busy machine leaves most of it.
                        let seen = try await probe.unary(
                            echoRequest("look"), options: CallOptions(timeout: .seconds(600)))
                        let millis = try #require(Int(seen.text))
                        #expect(millis > 300_000 && millis <= 600_000)
                        let none = try await probe.unary(echoRequest("look"))
                        #expect(none.text == "none")
                        // The probe forwards a minute-long sleep without a timeout of its
                        // own: the caller's 300 ms must cut it short.
                        let start = ContinuousClock.now
                        let error = await #expect(throws: RPCError.self) {
                            _ = try await probe.unary(
                                echoRequest("forward"), options: CallOptions(timeout: .milliseconds(300)))
                        }
                        #expect(error?.code == .deadlineExceeded)
                        #expect(start.duration(to: .now) < .seconds(30))
                    }
                }
            }
        }
    }

    @Test(
        "Cancelling the client's task cancels the server's handler",
        arguments: ServerConfiguration.HandlerExecution.allCases)
    func cancellationPropagates(placement: ServerConfiguration.HandlerExecution) async throws {
        let observed = CancellationObserver()
        try await withServer(services: [observed], configuration: ServerConfiguration(handlerExecution: placement)) {
            _, port in
            try await withClient(port: port) { client, _ in
                let task = Task {
                    var request = SleepRequest()
                    request.millis = 30_000
                    return try await EchoClient(wrapping: client).sleep(request)
                }
                try await observed.waitUntilStarted()
                task.cancel()
                let result = await task.result
                #expect(throws: RPCError.self) { try result.get() }
                try await observed.waitUntilCancelled()
            }
        }
    }

    @Test("Health answers SERVING for the server and each service, NOT_FOUND otherwise")
    func health() async throws {
        try await withServer { _, port in
            try await withClient(port: port) { client, _ in
                let health = HealthClient(wrapping: client)
                var request = HealthCheckRequest()
                let server = try await health.check(request).status
                #expect(server == .serving)
                request.service = "caravan.echo.v1.Echo"
                let echo = try await health.check(request).status
                #expect(echo == .serving)
                request.service = "caravan.nope.v1.Nope"
                let unknown = request
                let error = await #expect(throws: RPCError.self) { _ = try await health.check(unknown) }
                #expect(error?.code == .notFound)
            }
        }
    }

    @Test("Reflection lists services and methods and serves file descriptors")
    func reflection() async throws {
        try await withServer { _, port in
            try await withClient(port: port) { client, _ in
                let reflection = ReflectionClient(wrapping: client)
                let services = try await reflection.listServices(ListServicesRequest()).services
                let names = services.map(\.name)
                #expect(names.contains("caravan.echo.v1.Echo"))
                #expect(names.contains("caravan.health.v1.Health"))
                #expect(names.contains("caravan.reflection.v1.Reflection"))
                let echo = try #require(services.first { $0.name == "caravan.echo.v1.Echo" })
                let unary = try #require(echo.methods.first { $0.name == "Unary" })
                #expect(unary.path == "/caravan.echo.v1.Echo/Unary")
                #expect(unary.inputType == "caravan.echo.v1.EchoRequest")
                let stream = try #require(echo.methods.first { $0.name == "ServerStream" })
                #expect(stream.serverStreaming && !stream.clientStreaming)
                var request = FileDescriptorsRequest()
                request.symbol = "caravan.echo.v1.Echo"
                let files = try await reflection.fileDescriptors(request).fileDescriptorProtos
                #expect(!files.isEmpty)
                #expect(files[0].count > 100)
                request.symbol = "caravan.unknown.v1.Thing"
                let error = await #expect(throws: RPCError.self) { _ = try await reflection.fileDescriptors(request) }
                #expect(error?.code == .notFound)
            }
        }
    }
}

/// An echo service whose Sleep reports when it starts and when it sees
/// cancellation.
final class CancellationObserver: EchoServiceProtocol, Sendable {
    private let started = AsyncStream.makeStream(of: Void.self)
    private let cancelled = AsyncStream.makeStream(of: Void.self)

    func waitUntilStarted() async throws {
        for await _ in self.started.stream { return }
    }

    func waitUntilCancelled() async throws {
        for await _ in self.cancelled.stream { return }
    }

    func sleep(request: SleepRequest, context: ServerContext) async throws -> EchoResponse {
        self.started.continuation.yield()
        do {
            try await Task.sleep(for: .milliseconds(Int(request.millis)))
        } catch {
            self.cancelled.continuation.yield()
            throw error
        }
        return EchoResponse()
    }

    func unary(request: EchoRequest, context: ServerContext) async throws -> EchoResponse { EchoResponse() }
    func serverStream(request: StreamRequest, response: RPCWriter<EchoResponse>, context: ServerContext) async throws {}
    func clientStream(request: RPCAsyncSequence<EchoRequest>, context: ServerContext) async throws -> EchoResponse {
        EchoResponse()
    }
    func bidiStream(request: RPCAsyncSequence<EchoRequest>, response: RPCWriter<EchoResponse>, context: ServerContext)
        async throws
    {}
    func fail(request: FailRequest, context: ServerContext) async throws -> EchoResponse { EchoResponse() }
}

/// Records the deadline and trace a handler saw, and makes an outgoing
/// call from inside the handler to show inheritance.
struct ProbeService: EchoServiceProtocol {
    let downstream: @Sendable () -> EchoClient?

    func unary(request: EchoRequest, context: ServerContext) async throws -> EchoResponse {
        var response = EchoResponse()
        let remaining = context.remainingTime.map {
            $0.components.seconds * 1000 + $0.components.attoseconds / 1_000_000_000_000_000
        }
        response.text = remaining.map { "\($0)" } ?? "none"
        if request.text == "forward", let downstream = self.downstream() {
            // No timeout of its own: the inherited deadline must apply.
            let inner = try await downstream.sleep(
                {
                    var sleep = SleepRequest()
                    sleep.millis = 60_000
                    return sleep
                }())
            response.payload = inner.payload
        }
        return response
    }

    func serverStream(request: StreamRequest, response: RPCWriter<EchoResponse>, context: ServerContext) async throws {}
    func clientStream(request: RPCAsyncSequence<EchoRequest>, context: ServerContext) async throws -> EchoResponse {
        EchoResponse()
    }
    func bidiStream(request: RPCAsyncSequence<EchoRequest>, response: RPCWriter<EchoResponse>, context: ServerContext)
        async throws
    {}
    func sleep(request: SleepRequest, context: ServerContext) async throws -> EchoResponse {
        try await Task.sleep(for: .milliseconds(Int(request.millis)))
        return EchoResponse()
    }
    func fail(request: FailRequest, context: ServerContext) async throws -> EchoResponse { EchoResponse() }
}

/// An echo service whose Sleep, once started, runs until the test opens the
/// gate, however long the rest of the test takes; Unary echoes.
final class GatedSleep: EchoServiceProtocol, Sendable {
    private let state = Watched((started: false, open: false))

    func waitUntilStarted() async throws {
        try await self.state.wait(for: "the slow call to start", until: { $0.started })
    }

    func open() { self.state.update { $0.open = true } }

    func sleep(request: SleepRequest, context: ServerContext) async throws -> EchoResponse {
        self.state.update { $0.started = true }
        try await self.state.wait(for: "the gate to open", until: { $0.open })
        var response = EchoResponse()
        response.payload = request.payload
        return response
    }

    func unary(request: EchoRequest, context: ServerContext) async throws -> EchoResponse {
        var response = EchoResponse()
        response.text = request.text
        response.payload = request.payload
        return response
    }

    func serverStream(request: StreamRequest, response: RPCWriter<EchoResponse>, context: ServerContext) async throws {}
    func clientStream(request: RPCAsyncSequence<EchoRequest>, context: ServerContext) async throws -> EchoResponse {
        EchoResponse()
    }
    func bidiStream(request: RPCAsyncSequence<EchoRequest>, response: RPCWriter<EchoResponse>, context: ServerContext)
        async throws
    {}
    func fail(request: FailRequest, context: ServerContext) async throws -> EchoResponse { EchoResponse() }
}
