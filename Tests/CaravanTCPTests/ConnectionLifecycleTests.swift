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
                let start = ContinuousClock.now
                server.beginGracefulShutdown()
                let result = await slow.result
                #expect(throws: RPCError.self) { try result.get() }
                // Far short of the call's own 30 s: the grace period cut it.
                #expect(start.duration(to: .now) < .seconds(20))
            }
            try await group.waitForAll()
        }
    }

    @Test("A call with no server to reach fails UNAVAILABLE quickly instead of hanging")
    func noServerFailsFast() async throws {
        let port = try await unusedPort()
        let configuration = ClientConfiguration(connectTimeout: .milliseconds(500), initialBackoff: .milliseconds(50))
        try await withClient(port: port, configuration: configuration) { client, _ in
            let start = ContinuousClock.now
            let error = await #expect(throws: RPCError.self) {
                _ = try await EchoClient(wrapping: client).unary(echoRequest("anyone?"))
            }
            #expect(error?.code == .unavailable)
            #expect(error?.neverSent == true)
            #expect(start.duration(to: .now) < .seconds(3))
        }
    }

    @Test("A call waiting for a connection fails DEADLINE_EXCEEDED at its deadline")
    func waitingCallHonoursDeadline() async throws {
        let port = try await unusedPort()
        let configuration = ClientConfiguration(connectTimeout: .seconds(30), initialBackoff: .seconds(30))
        try await withClient(port: port, configuration: configuration) { client, _ in
            let start = ContinuousClock.now
            let error = await #expect(throws: RPCError.self) {
                _ = try await EchoClient(wrapping: client).unary(
                    echoRequest("anyone?"), options: CallOptions(timeout: .milliseconds(300)))
            }
            #expect(error?.code == .deadlineExceeded || error?.code == .unavailable)
            #expect(start.duration(to: .now) < .seconds(5))
        }
    }

    @Test("The client reconnects by itself when the server comes back")
    func reconnectsAfterRestart() async throws {
        let port = try await unusedPort()
        let clientConfiguration = ClientConfiguration(
            connectTimeout: .milliseconds(500), initialBackoff: .milliseconds(20), maxBackoff: .milliseconds(200))
        try await withClient(port: port, configuration: clientConfiguration) { client, _ in
            let echo = EchoClient(wrapping: client)
            for round in 0..<2 {
                let server = RPCServer(services: [EchoService()], configuration: ServerConfiguration(port: port))
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await server.run() }
                    _ = try await server.listeningAddress
                    var answered = false
                    for _ in 0..<100 where !answered {
                        do {
                            _ = try await echo.unary(echoRequest("round \(round)"), options: CallOptions(timeout: .seconds(1)))
                            answered = true
                        } catch {
                            try await Task.sleep(for: .milliseconds(50))
                        }
                    }
                    #expect(answered, "round \(round): the client reached the restarted server")
                    server.beginGracefulShutdown()
                    try await group.waitForAll()
                }
            }
        }
    }

    @Test("An idle connection is closed by the server and the client reconnects")
    func idleTimeout() async throws {
        var configuration = ServerConfiguration()
        configuration.idleTimeout = .milliseconds(300)
        try await withServer(configuration: configuration) { server, port in
            let clientConfiguration = ClientConfiguration(initialBackoff: .milliseconds(20))
            // The default retry policy: a call racing the idle close never
            // left, so it is retried on the new connection.
            try await withClient(port: port, configuration: clientConfiguration, retryPolicy: .defaults) { client, _ in
                let echo = EchoClient(wrapping: client)
                _ = try await echo.unary(echoRequest("one"))
                #expect(await Self.eventually { server.connectionCount == 1 })
                // The server closes the idle connection; the client does not reopen it unasked.
                #expect(await Self.eventually { server.connectionCount == 0 })
                _ = try await echo.unary(echoRequest("two"), options: CallOptions(timeout: .seconds(5)))
            }
        }
    }

    /// Polls `condition` for up to 5 s.
    static func eventually(_ condition: () -> Bool) async -> Bool {
        for _ in 0..<250 {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return condition()
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
            let start = ContinuousClock.now
            let error = await #expect(throws: RPCError.self) {
                _ = try await EchoClient(wrapping: client).unary(echoRequest("hello?"))
            }
            #expect(error?.code == .unavailable)
            #expect(start.duration(to: .now) < .seconds(5), "dead peer found within a few keepalive periods")
        }
    }

    @Test("Calls over the per-connection limit get RESOURCE_EXHAUSTED")
    func concurrentCallLimit() async throws {
        var configuration = ServerConfiguration()
        configuration.maxConcurrentCallsPerConnection = 2
        try await withServer(configuration: configuration) { _, port in
            try await withClient(port: port) { client, _ in
                let echo = EchoClient(wrapping: client)
                // Three calls at once on one connection with a limit of two:
                // exactly one is refused, whichever arrives last.
                let outcomes = try await withThrowingTaskGroup(of: RPCError.Code?.self) { group in
                    for _ in 0..<3 {
                        group.addTask {
                            do {
                                _ = try await echo.sleep(SleepRequest(millis: 1_500))
                                return nil
                            } catch let error as RPCError {
                                return error.code
                            }
                        }
                    }
                    var outcomes: [RPCError.Code?] = []
                    for try await outcome in group { outcomes.append(outcome) }
                    return outcomes
                }
                #expect(outcomes.filter { $0 == nil }.count == 2, "\(outcomes)")
                #expect(outcomes.filter { $0 == .resourceExhausted }.count == 1, "\(outcomes)")
            }
        }
    }
}

@Suite("Server limits", .timeLimit(.minutes(1)))
struct ServerLimitTests {
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
                    #expect(error?.code == .unavailable || error?.code == .resourceExhausted)
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
            try await silent.writeAndFlush(preface)
            let start = ContinuousClock.now
            try await withTimeLimit(.seconds(5)) { try await silent.closeFuture.get() }
            #expect(start.duration(to: .now) < .seconds(3))
            #expect(server.router.paths.contains("/caravan.echo.v1.Echo/Unary"))
        }
    }
}

/// A port nothing listens on (bound, then released).
func unusedPort() async throws -> Int {
    let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .bind(host: "127.0.0.1", port: 0).get()
    let port = channel.localAddress!.port!
    try await channel.close()
    return port
}
