import CaravanCore
import CaravanEcho
import CaravanEchoAPI
import CaravanHealthAPI
import CaravanServer
import CaravanTCP
import CaravanTestSupport
import NIOCore
import NIOPosix
import Testing

@Suite("Connection lifecycle", .timeLimit(.minutes(2)))
struct ConnectionLifecycleTests {
    @Test("Graceful shutdown lets in-flight calls finish, refuses new ones, and health turns NOT_SERVING")
    func gracefulShutdownDrains() async throws {
        let observer = CancellationObserver()
        let server = RPCServer(services: [observer], configuration: ServerConfiguration(port: 0))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            let port = try await server.listeningAddress.port!
            try await withClient(port: port) { client, _ in
                let echo = EchoClient(wrapping: client)
                let inFlight = Task {
                    try await echo.sleep(SleepRequest(millis: 500))
                }
                // Shut down only once the call is running in the server.
                try await observer.waitUntilStarted()
                server.beginGracefulShutdown()
                #expect(server.health.status(of: "") == .notServing)
                _ = try await inFlight.value  // the call in flight finished normally
                let error = await #expect(throws: RPCError.self) {
                    _ = try await echo.unary(echoRequest("too late"), options: CallOptions(timeout: .seconds(2)))
                }
                #expect(error?.code == .unavailable || error?.code == .deadlineExceeded)
            }
            try await group.waitForAll()
        }
    }

    @Test("Calls in flight past the grace period end UNAVAILABLE and the server stops")
    func gracePeriodEnforced() async throws {
        var configuration = ServerConfiguration(port: 0)
        configuration.shutdownGracePeriod = .milliseconds(200)
        let observer = CancellationObserver()
        let server = RPCServer(services: [observer], configuration: configuration)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            let port = try await server.listeningAddress.port!
            try await withClient(port: port) { client, _ in
                let slow = Task {
                    var request = SleepRequest()
                    request.millis = 30_000
                    return try await EchoClient(wrapping: client).sleep(request)
                }
                // Shut down only once the call is running in the server (a
                // fixed 100 ms wait lost that race on a busy machine).
                try await observer.waitUntilStarted()
                server.beginGracefulShutdown()
                // The call asked for 30 s; the 200 ms grace period cuts it (the
                // suite's time limit would catch a server that waited it out).
                let error = await #expect(throws: RPCError.self) { try await slow.value }
                #expect(error?.code == .unavailable)
                #expect(
                    error?.message.contains("shut down before the call finished") == true,
                    "\(String(describing: error))")
            }
            try await group.waitForAll()
        }
    }

    @Test("A call with no server to reach fails UNAVAILABLE at once, saying the connection was refused")
    func noServerFailsFast() async throws {
        let port = try await unusedPort()
        // A connect timeout far longer than the suite's time limit: the call
        // must fail on the refusal itself, not wait for the timeout.
        let configuration = ClientConfiguration(connectTimeout: .seconds(600), initialBackoff: .milliseconds(50))
        try await withClient(port: port, configuration: configuration) { client, _ in
            let error = await #expect(throws: RPCError.self) {
                _ = try await EchoClient(wrapping: client).unary(echoRequest("anyone?"))
            }
            #expect(error?.code == .unavailable)
            #expect(error?.neverSent == true)
            #expect(
                error?.message == "Cannot connect to 127.0.0.1:\(port): connection refused",
                "\(String(describing: error))")
        }
    }

    @Test("The client reconnects by itself when the server comes back")
    func reconnectsAfterRestart() async throws {
        let port = try await unusedPort()
        let endpoint = Endpoint(host: "127.0.0.1", port: port)
        let clientConfiguration = ClientConfiguration(
            connectTimeout: .milliseconds(500), initialBackoff: .milliseconds(20), maxBackoff: .milliseconds(200))
        try await withClient(port: port, configuration: clientConfiguration) { client, transport in
            let echo = EchoClient(wrapping: client)
            for round in 0..<2 {
                let server = RPCServer(services: [EchoService()], configuration: ServerConfiguration(port: port))
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await server.run() }
                    _ = try await server.listeningAddress
                    // Refused until now, the client retries on its back-off and connects by
                    // itself; or, after the last server's GOAWAY, its connection is idle and
                    // the call makes a new one.
                    try await transport.pool.waitUntil(endpoint) { $0.readiness == .ready || $0.readiness == .idle }
                    _ = try await echo.unary(echoRequest("round \(round)"), options: CallOptions(timeout: .seconds(5)))
                    server.beginGracefulShutdown()
                    try await group.waitForAll()
                }
                try await transport.pool.waitUntil(endpoint) { $0.readiness != .ready }
            }
        }
    }

    @Test("An idle connection is closed by the server and the client reconnects when it next calls")
    func idleTimeout() async throws {
        var configuration = ServerConfiguration()
        configuration.idleTimeout = .milliseconds(300)
        try await withServer(configuration: configuration) { server, port in
            let endpoint = Endpoint(host: "127.0.0.1", port: port)
            // The default retry policy: a call racing the idle close never
            // left, so it is retried on a new connection.
            try await withClient(
                port: port, configuration: ClientConfiguration(initialBackoff: .milliseconds(20)),
                retryPolicy: .defaults
            ) { client, transport in
                let echo = EchoClient(wrapping: client)
                _ = try await echo.unary(echoRequest("one"))
                // The server's idle GOAWAY makes the client's connection idle; it is not reopened unasked.
                try await transport.pool.waitUntil(endpoint) { $0.readiness != .ready }
                _ = try await echo.unary(echoRequest("two"), options: CallOptions(timeout: .seconds(5)))
                #expect(transport.pool.replicas.first?.readiness == .ready)
            }
        }
    }

    @Test("A peer that stops answering pings is detected and dropped")
    func keepaliveDetectsDeadPeer() async throws {
        // A "server" that accepts and reads but never answers anything.
        let silent = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in channel.eventLoop.makeSucceededVoidFuture() }
            .bind(host: "127.0.0.1", port: 0).get()
        defer { silent.close(promise: nil) }
        let port = silent.localAddress!.port!
        let configuration = ClientConfiguration(
            keepaliveInterval: .milliseconds(100), keepaliveTimeout: .milliseconds(100))
        try await withClient(port: port, configuration: configuration) { client, _ in
            let error = await #expect(throws: RPCError.self) {
                _ = try await EchoClient(wrapping: client).unary(echoRequest("hello?"))
            }
            #expect(error?.code == .unavailable)
            // Usually the call was sent and the connection dropped for the missing pong; on a
            // slow start the keepalive closes it before it is handed out.
            let message = error?.message ?? ""
            #expect(
                message.contains("did not answer a ping") || message.contains("connection was closed"), "\(message)")
        }
    }

    @Test("Calls over the per-connection limit get RESOURCE_EXHAUSTED")
    func concurrentCallLimit() async throws {
        var configuration = ServerConfiguration()
        configuration.maxConcurrentCallsPerConnection = 2
        let probe = HandlerProbe()
        try await withServer(services: [probe], configuration: configuration) { _, port in
            try await withClient(port: port) { client, _ in
                let echo = EchoClient(wrapping: client)
                // Two calls that hold their slots until cancelled, then a third.
                let held = (0..<2).map { _ in Task { try await echo.sleep(SleepRequest(millis: 600_000)) } }
                try await probe.waitUntilStarted(count: 2)
                let error = await #expect(throws: RPCError.self) { _ = try await echo.unary(echoRequest("third")) }
                #expect(error?.code == .resourceExhausted)
                for call in held { call.cancel() }
                try await probe.waitUntilCancelled(count: 2)
                _ = try await echo.unary(echoRequest("room again"), options: CallOptions(timeout: .seconds(5)))
            }
        }
    }
}

@Suite("Server limits", .timeLimit(.minutes(1)))
struct ServerLimitTests {
    @Test("Admission control refuses calls over the server's limit at once, with retry-after-ms, across connections")
    func admissionControl() async throws {
        var configuration = ServerConfiguration()
        configuration.admission = .init(initialLimit: 2, minLimit: 2, maxLimit: 2)
        let probe = HandlerProbe()
        try await withServer(services: [probe], configuration: configuration) { _, port in
            try await withClient(port: port) { client, _ in
                let echo = EchoClient(wrapping: client)
                let held = (0..<2).map { _ in Task { try await echo.sleep(SleepRequest(millis: 600_000)) } }
                try await probe.waitUntilStarted(count: 2)
                // Another connection counts against the same limit.
                try await withClient(port: port) { other, _ in
                    let error = await #expect(throws: RPCError.self) {
                        _ = try await EchoClient(wrapping: other).unary(echoRequest("third"))
                    }
                    #expect(error?.code == .resourceExhausted)
                    #expect(error?.message.contains("limit of 2") == true)
                    #expect((error?.retryAfterMilliseconds ?? 0) >= 1)
                }
                for call in held { call.cancel() }
                try await probe.waitUntilCancelled(count: 2)
                // The held calls give their places back as their handlers return.
                #expect(try await eventually { (try? await echo.unary(echoRequest("room again"))) != nil })
            }
        }
    }

    @Test("Connections over the limit are turned away while the first keeps working")
    func connectionLimit() async throws {
        var configuration = ServerConfiguration()
        configuration.maxConnections = 1
        try await withServer(configuration: configuration) { _, port in
            try await withClient(port: port) { first, _ in
                let echo = EchoClient(wrapping: first)
                _ = try await echo.unary(echoRequest("first"))
                let refused = ClientConfiguration(connectTimeout: .milliseconds(500), initialBackoff: .seconds(5))
                try await withClient(port: port, configuration: refused) { second, _ in
                    let error = await #expect(throws: RPCError.self) {
                        _ = try await EchoClient(wrapping: second).unary(
                            echoRequest("second"), options: CallOptions(timeout: .seconds(2)))
                    }
                    // The server's reason reaches the client, as UNAVAILABLE.
                    #expect(error?.code == .unavailable)
                    #expect(
                        error?.message.contains("Too many connections (limit 1).") == true,
                        "\(String(describing: error))")
                }
                _ = try await echo.unary(echoRequest("first again"))
            }
        }
    }

    @Test("A request over the client's own frame limit is refused before it is sent")
    func clientFrameLimit() async throws {
        try await withServer { _, port in
            try await withClient(port: port, configuration: ClientConfiguration(maxFrameSize: 1024)) { client, _ in
                let echo = EchoClient(wrapping: client)
                let error = await #expect(throws: RPCError.self) {
                    _ = try await echo.unary(echoRequest("big", payload: Array(repeating: 7, count: 2000)))
                }
                #expect(error?.code == .resourceExhausted)
                #expect(error?.neverSent == true)
                let small = try await echo.unary(echoRequest("small", payload: Array(repeating: 7, count: 500)))
                #expect(small.payload.count == 500)
            }
        }
    }

    @Test("The server drops a client that stops answering its pings")
    func serverKeepalive() async throws {
        var configuration = ServerConfiguration()
        configuration.keepaliveInterval = .milliseconds(100)
        configuration.keepaliveTimeout = .milliseconds(100)
        try await withServer(configuration: configuration) { server, port in
            // Sends the preface, then stays silent and never answers a ping.
            let silent = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(host: "127.0.0.1", port: port).get()
            var preface = silent.allocator.buffer(capacity: 8)
            preface.writeBytes(WireFormat.preface)
            do {
                try await silent.writeAndFlush(preface)
            } catch ChannelError.ioOnClosedChannel {
                // On a busy machine the server's keepalive can drop the silent connection
                // before its preface is written: the event this test waits for, early.
            }
            try await silent.closeFuture.get()  // the server closes it; the suite's time limit guards a hang
            #expect(server.router.paths.contains("/caravan.echo.v1.Echo/Unary"))
        }
    }
}
