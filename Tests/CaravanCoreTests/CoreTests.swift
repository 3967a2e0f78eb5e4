import CaravanCore
import CaravanEcho
import CaravanEchoAPI
import CaravanInProcess
import Synchronization
import Testing

@Suite("Status codes and errors")
struct StatusTests {
    @Test("The 17 gRPC codes keep their numbers and names")
    func codes() {
        let names = StatusCode.allCases.map(\.name)
        #expect(names.count == 17)
        #expect(names.first == "OK")
        #expect(StatusCode.invalidArgument.rawValue == 3)
        #expect(StatusCode.unavailable.rawValue == 14)
        #expect(StatusCode.unauthenticated.rawValue == 16)
        #expect(StatusCode(name: "NOT_FOUND") == .notFound)
        #expect(StatusCode(name: "5") == .notFound)
        #expect(StatusCode(rawValue: 17) == nil)
        #expect(RPCError.Code(.ok) == nil)
    }

    @Test("Domain errors convert through RPCErrorConvertible; others become UNKNOWN")
    func conversion() {
        struct OutOfSeats: RPCErrorConvertible {
            var rpcError: RPCError { RPCError(code: .failedPrecondition, message: "full") }
        }
        struct Oops: Error {}
        #expect(RPCError(converting: OutOfSeats()).code == .failedPrecondition)
        #expect(RPCError(converting: Oops()).code == .unknown)
        #expect(RPCError(converting: CancellationError()).code == .cancelled)
        #expect(RPCError.invalidArgument(field: "year", "out of range").message == "year: out of range")
    }

    @Test("Method paths parse and print")
    func methodPaths() throws {
        let method = MethodDescriptor(service: "caravan.echo.v1.Echo", method: "Unary")
        #expect(method.path == "/caravan.echo.v1.Echo/Unary")
        #expect(MethodDescriptor(path: "/caravan.echo.v1.Echo/Unary") == method)
        #expect(MethodDescriptor(path: "nonsense") == nil)
        #expect(MethodDescriptor(path: "/a/") == nil)
        #expect(MethodDescriptor(path: "//a") == nil)
        // A service name beginning with a combining mark (found by
        // HTTPDoorFuzzer): the slash before it is still a separator.
        let combining = try #require(MethodDescriptor(path: "\u{59C}a/b"))
        #expect(combining.service == "\u{59C}a" && combining.method == "b")
        #expect(MethodDescriptor(path: combining.path) == combining)
    }

    @Test("Metadata keeps order, lowercases keys and measures its size")
    func metadata() {
        var metadata: Metadata = ["X-Trace": "abc"]
        metadata.addString("two", forKey: "x-trace")
        metadata.addBinary([1, 2], forKey: "blob-bin")
        #expect(metadata[stringValues: "x-trace"] == ["abc", "two"])
        #expect(metadata.encodedSize == "x-trace".count * 2 + 3 + 3 + "blob-bin".count + 2)
        #expect(Metadata.isValidKey("caravan-user_id.v2"))
        #expect(!Metadata.isValidKey("Upper"))
        #expect(!Metadata.isValidKey("sp ace"))
    }
}

@Suite("Router and client in process")
struct InProcessTests {
    let client = RPCClient(transport: InProcessTransport(serving: [EchoService()]))

    @Test("Unary and streaming calls work with no network")
    func calls() async throws {
        let echo = EchoClient(wrapping: self.client)
        var request = EchoRequest()
        request.text = "hi"
        #expect(try await echo.unary(request).text == "hi")
        var stream = StreamRequest()
        stream.count = 3
        let count = try await echo.serverStream(stream) { messages in
            var count = 0
            for try await _ in messages { count += 1 }
            return count
        }
        #expect(count == 3)
    }

    @Test("An unknown method is UNIMPLEMENTED; a payload that is not the message is INVALID_ARGUMENT")
    func routingErrors() async throws {
        let unknown = await #expect(throws: RPCError.self) {
            _ = try await self.client.unary(
                descriptor: MethodDescriptor(service: "caravan.echo.v1.Echo", method: "Nope"), request: [])
        }
        #expect(unknown?.code == .unimplemented)
        let malformed = await #expect(throws: RPCError.self) {
            _ = try await self.client.unary(descriptor: Echo.Method.unary, request: [0xFF, 0xFF, 0xFF])
        }
        #expect(malformed?.code == .invalidArgument)
    }

    @Test("Interceptors run around calls in order and see the outcome")
    func interceptors() async throws {
        let log = Mutex<[String]>([])
        struct Recorder: ServerInterceptor {
            let name: String
            let log: @Sendable (String) -> Void
            func intercept(context: ServerContext, next: (ServerContext) async throws -> Void) async throws {
                self.log("\(self.name) in \(context.descriptor.method)")
                do {
                    try await next(context)
                    self.log("\(self.name) ok")
                } catch {
                    self.log("\(self.name) \(RPCError(converting: error).code)")
                    throw error
                }
            }
        }
        var router = RPCRouter()
        router.register(EchoService())
        router.interceptors = [
            Recorder(name: "outer") { entry in log.withLock { $0.append(entry) } },
            Recorder(name: "inner") { entry in log.withLock { $0.append(entry) } },
        ]
        let echo = EchoClient(wrapping: RPCClient(transport: InProcessTransport(router: router)))
        _ = try await echo.unary(EchoRequest())
        var fail = FailRequest()
        fail.code = 5
        _ = try? await echo.fail(fail)
        #expect(
            log.withLock { $0 } == [
                "outer in Unary", "inner in Unary", "inner ok", "outer ok",
                "outer in Fail", "inner in Fail", "inner NOT_FOUND", "outer NOT_FOUND",
            ])
    }

    @Test("An interceptor can refuse a call")
    func refusingInterceptor() async throws {
        struct RequireToken: ServerInterceptor {
            func intercept(context: ServerContext, next: (ServerContext) async throws -> Void) async throws {
                guard context.metadata.firstString("authorization") != nil else {
                    throw RPCError(code: .unauthenticated, message: "no token")
                }
                try await next(context)
            }
        }
        var router = RPCRouter()
        router.register(EchoService())
        router.interceptors = [RequireToken()]
        let echo = EchoClient(wrapping: RPCClient(transport: InProcessTransport(router: router)))
        let error = await #expect(throws: RPCError.self) { _ = try await echo.unary(EchoRequest()) }
        #expect(error?.code == .unauthenticated)
        _ = try await echo.unary(EchoRequest(), options: CallOptions(metadata: ["authorization": "Bearer x"]))
    }

    @Test("Deadlines are enforced in process too")
    func deadline() async throws {
        var sleep = SleepRequest()
        sleep.millis = 5_000
        let error = await #expect(throws: RPCError.self) {
            _ = try await EchoClient(wrapping: self.client).sleep(
                sleep, options: CallOptions(timeout: .milliseconds(100)))
        }
        #expect(error?.code == .deadlineExceeded)
    }
}

@Suite("Retries")
struct RetryTests {
    /// Fails UNAVAILABLE a given number of times, then echoes.
    final class FlakyTransport: ClientTransport {
        let failures: Int
        let neverSent: Bool
        let attempts = Mutex(0)
        init(failures: Int, neverSent: Bool) {
            self.failures = failures
            self.neverSent = neverSent
        }
        func unary(descriptor: MethodDescriptor, request: [UInt8], options: ResolvedCallOptions) async throws -> [UInt8]
        {
            let attempt = self.attempts.withLock { value in
                value += 1
                return value
            }
            if attempt <= self.failures {
                throw RPCError(
                    code: .unavailable, message: "down",
                    cause: self.neverSent ? CallNeverSent("no connection") : nil)
            }
            return request
        }
        func streaming<Result: Sendable>(
            descriptor: MethodDescriptor, options: ResolvedCallOptions,
            requests: @escaping @Sendable (RawMessageWriter) async throws -> Void,
            responses: (RawMessageStream) async throws -> Result
        ) async throws -> Result {
            throw RPCError(code: .unimplemented, message: "")
        }
    }

    let policy = RetryPolicy(maxAttempts: 3, initialBackoff: .milliseconds(1), maxBackoff: .milliseconds(5))
    let method = MethodDescriptor(service: "s", method: "m")

    @Test("A call that never left is retried")
    func neverSentIsRetried() async throws {
        let transport = FlakyTransport(failures: 2, neverSent: true)
        let client = RPCClient(transport: transport, retryPolicy: self.policy)
        _ = try await client.unary(descriptor: self.method, request: [1])
        #expect(transport.attempts.withLock { $0 } == 3)
    }

    @Test("A call that may have run is not retried without an idempotency key")
    func sentWriteIsNotRetried() async throws {
        let transport = FlakyTransport(failures: 1, neverSent: false)
        let client = RPCClient(transport: transport, retryPolicy: self.policy)
        await #expect(throws: RPCError.self) { _ = try await client.unary(descriptor: self.method, request: [1]) }
        #expect(transport.attempts.withLock { $0 } == 1)
    }

    @Test("A call with an idempotency key is retried on UNAVAILABLE, up to the attempt limit")
    func idempotentIsRetried() async throws {
        let transport = FlakyTransport(failures: 5, neverSent: false)
        let client = RPCClient(transport: transport, retryPolicy: self.policy)
        await #expect(throws: RPCError.self) {
            _ = try await client.unary(descriptor: self.method, request: [1], options: CallOptions(idempotencyKey: "k"))
        }
        #expect(transport.attempts.withLock { $0 } == 3)
    }
}

@Suite("Call options' deadlines")
struct CallOptionsDeadlineTests {
    @Test("A timeout counts from each call's start, so a kept options value serves later calls too")
    func timeoutCountsFromEachStart() {
        let options = CallOptions(timeout: .seconds(2))
        let first = ContinuousClock.now
        let later = first.advanced(by: .seconds(3600))
        #expect(options.deadline(startingAt: first) == first.advanced(by: .seconds(2)))
        #expect(options.deadline(startingAt: later) == later.advanced(by: .seconds(2)))
        #expect(CallOptions().deadline(startingAt: later) == nil)
    }

    @Test("With an instant and a timeout, the earlier end wins")
    func earlierEndWins() {
        let start = ContinuousClock.now
        let soon = start.advanced(by: .seconds(1))
        let far = start.advanced(by: .seconds(60))
        #expect(CallOptions(deadline: soon, timeout: .seconds(10)).deadline(startingAt: start) == soon)
        #expect(
            CallOptions(deadline: far, timeout: .seconds(10)).deadline(startingAt: start)
                == start.advanced(by: .seconds(10)))
    }

    @Test("The client settles a kept timeout at each call, and the served call's deadline still caps it")
    func clientSettlesAtEachCall() throws {
        let client = RPCClient(transport: InProcessTransport())
        let options = CallOptions(timeout: .seconds(30))
        let resolved = client.resolve(options)
        let deadline = try #require(resolved.deadline)
        #expect(deadline > .now && deadline <= ContinuousClock.now.advanced(by: .seconds(30)))

        let parent = ContinuousClock.now.advanced(by: .seconds(5))
        let capped = ServerContext.$current.withValue(
            ServerContext(descriptor: MethodDescriptor(service: "a.B", method: "C"), deadline: parent)
        ) {
            client.resolve(options)
        }
        #expect(capped.deadline == parent)
    }
}
