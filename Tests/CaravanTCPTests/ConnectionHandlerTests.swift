import CaravanCore
import CaravanEcho
import CaravanEchoAPI
import CaravanEnvelope
import CaravanTestSupport
import Logging
import NIOCore
import NIOEmbedded
import Synchronization
import Testing

@testable import CaravanTCP

/// The connection handlers on a channel with no socket and a clock the test
/// moves (`NIOAsyncTestingChannel`): every timer fires when the test says.
@Suite("Connection handlers on a test channel", .timeLimit(.minutes(1)))
struct ConnectionHandlerTests {
    // MARK: Server

    static func serverChannel(
        services: [any RPCService] = [EchoService()], configuration: ServerConfiguration = ServerConfiguration(),
        refusal: String? = nil, clock: @escaping @Sendable () -> ContinuousClock.Instant = { .now }
    ) async throws -> (NIOAsyncTestingChannel, EventLoopFuture<Void>) {
        var router = RPCRouter()
        for service in services { router.register(service) }
        let loop = NIOAsyncTestingEventLoop()
        let finished = loop.makePromise(of: Void.self)
        let routes = router
        let channel = try await NIOAsyncTestingChannel(loop: loop) { channel in
            let handler = ServerConnectionHandler(
                router: routes, configuration: configuration, logger: Logger(label: "test"), finished: finished,
                refusal: refusal, clock: clock)
            try channel.pipeline.syncOperations.addHandler(handler)
        }
        try await channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9))
        return (channel, finished.futureResult)
    }

    static func request(
        _ callID: UInt32, _ descriptor: MethodDescriptor, _ message: some ProtoMessage, timeoutMicros: UInt64 = 0
    )
        throws -> InboundFrame
    {
        var header = RequestHeader()
        header.method = descriptor.path
        header.timeoutMicros = timeoutMicros
        return .frame(
            Frame(
                kind: .request, flags: [.endStream, .hasMessage], callID: callID,
                header: ByteBuffer(bytes: try header.serializedBytes()),
                payload: ByteBuffer(bytes: try message.serializedBytes())))
    }

    /// Runs what the handler left for its loop: under `.eventLoop` a call's
    /// task starts there, and this test loop runs only when told to.
    static func runTasks(_ channel: NIOAsyncTestingChannel) async {
        await channel.testingEventLoop.run()
    }

    /// The next frame the handler wrote.
    static func nextFrame(_ channel: NIOAsyncTestingChannel) async throws -> Frame {
        var buffer = try await channel.waitForOutboundWrite(as: ByteBuffer.self)
        while buffer.readableBytes == 0 { buffer = try await channel.waitForOutboundWrite(as: ByteBuffer.self) }
        var decoder = FrameDecoder(maxFrameSize: 1 << 20)
        guard case .frame(let frame) = try decoder.decode(buffer: &buffer) else { throw DecodeFailure() }
        return frame
    }

    struct DecodeFailure: Error {}

    static func status(_ frame: Frame) throws -> RPCError? {
        guard frame.header.readableBytes > 0 else { return nil }
        return FrameHeaders.error(from: try FrameHeaders.decode(ResponseHeader.self, from: frame.header))
    }

    @Test("A unary call is answered with its response, under its call id")
    func unary() async throws {
        let (channel, _) = try await Self.serverChannel()
        try await channel.writeInbound(try Self.request(1, Echo.Method.unary, echoRequest("Salem")))
        let frame = try await Self.nextFrame(channel)
        #expect(frame.kind == .response && frame.callID == 1)
        #expect(try Self.status(frame) == nil)
        #expect(try EchoResponse(serializedBytes: Array(frame.payload.readableBytesView)).text == "Salem")
    }

    @Test(
        "A call whose deadline passed before its handler could start is refused without running it",
        arguments: ServerConfiguration.HandlerExecution.allCases)
    func expiredOnArrival(placement: ServerConfiguration.HandlerExecution) async throws {
        let probe = HandlerProbe()
        // The frame "arrived" a second ago, with 1 µs to live.
        let (channel, _) = try await Self.serverChannel(
            services: [probe], configuration: ServerConfiguration(handlerExecution: placement)
        ) { .now.advanced(by: .seconds(-1)) }
        try await channel.writeInbound(try Self.request(1, Echo.Method.unary, echoRequest("late"), timeoutMicros: 1))
        await Self.runTasks(channel)
        let frame = try await Self.nextFrame(channel)
        #expect(try Self.status(frame)?.code == .deadlineExceeded)
        #expect(probe.started == 0)
    }

    @Test(
        "A handler that returns after its deadline is answered DEADLINE_EXCEEDED, never OK",
        arguments: ServerConfiguration.HandlerExecution.allCases)
    func finishedLate(placement: ServerConfiguration.HandlerExecution) async throws {
        let (channel, _) = try await Self.serverChannel(
            services: [HandlerProbe(ignoringDeadline: true)],
            configuration: ServerConfiguration(handlerExecution: placement))
        // The connection's timer would answer first; this loop's time does not move, so the
        // handler (sleeping past its deadline by the real clock) returns OK, late.
        try await channel.writeInbound(
            try Self.request(1, Echo.Method.unary, echoRequest("slow"), timeoutMicros: 20_000))
        await Self.runTasks(channel)
        let frame = try await Self.nextFrame(channel)
        #expect(try Self.status(frame)?.code == .deadlineExceeded)
    }

    @Test(
        "At the deadline the server answers DEADLINE_EXCEEDED and cancels the handler",
        arguments: ServerConfiguration.HandlerExecution.allCases)
    func deadlineTimer(placement: ServerConfiguration.HandlerExecution) async throws {
        let probe = HandlerProbe()
        let (channel, _) = try await Self.serverChannel(
            services: [probe], configuration: ServerConfiguration(handlerExecution: placement))
        try await channel.writeInbound(
            try Self.request(1, Echo.Method.sleep, SleepRequest(millis: 60_000), timeoutMicros: 20_000_000))
        await Self.runTasks(channel)
        try await probe.waitUntilStarted()
        await channel.testingEventLoop.advanceTime(by: .seconds(20))
        let frame = try await Self.nextFrame(channel)
        #expect(try Self.status(frame)?.code == .deadlineExceeded)
        try await probe.waitUntilCancelled()
    }

    @Test("A silent client is pinged after the keepalive interval and dropped after the timeout")
    func keepalive() async throws {
        var configuration = ServerConfiguration()
        configuration.keepaliveInterval = .seconds(30)
        configuration.keepaliveTimeout = .seconds(10)
        let (channel, finished) = try await Self.serverChannel(configuration: configuration)
        await channel.testingEventLoop.advanceTime(by: .seconds(30))
        #expect(try await Self.nextFrame(channel).kind == .ping)
        await channel.testingEventLoop.advanceTime(by: .seconds(15))
        try await finished.get()
        #expect(!channel.isActive)
    }

    @Test("A connection idle for the idle timeout is sent GOAWAY OK and closed")
    func idle() async throws {
        var configuration = ServerConfiguration()
        configuration.idleTimeout = .seconds(5)
        let (channel, finished) = try await Self.serverChannel(configuration: configuration)
        await channel.testingEventLoop.advanceTime(by: .seconds(7))
        let frame = try await Self.nextFrame(channel)
        #expect(frame.kind == .goAway)
        let goAway = try FrameHeaders.decode(GoAway.self, from: frame.header)
        #expect(goAway.code == 0 && goAway.message.contains("Idle"))
        try await finished.get()
    }

    @Test(
        "Draining: GOAWAY with the last id; past the grace period the open call ends UNAVAILABLE and the connection closes"
    )
    func drainAndGrace() async throws {
        var configuration = ServerConfiguration()
        configuration.shutdownGracePeriod = .seconds(10)
        let probe = HandlerProbe()
        let (channel, finished) = try await Self.serverChannel(services: [probe], configuration: configuration)
        try await channel.writeInbound(try Self.request(4, Echo.Method.sleep, SleepRequest(millis: 60_000)))
        try await probe.waitUntilStarted()
        try await channel.testingEventLoop.executeInContext {
            try channel.pipeline.syncOperations.handler(type: ServerConnectionHandler.self).drain()
        }
        let goAway = try await Self.nextFrame(channel)
        #expect(goAway.kind == .goAway && goAway.callID == 4)
        await channel.testingEventLoop.advanceTime(by: .seconds(10))
        let answer = try await Self.nextFrame(channel)
        #expect(try answer.callID == 4 && Self.status(answer)?.code == .unavailable)
        try await finished.get()
        try await probe.waitUntilCancelled()
    }

    @Test("A connection over the server's limit is told why, with GOAWAY RESOURCE_EXHAUSTED, and closed")
    func refusedConnection() async throws {
        let (channel, finished) = try await Self.serverChannel(refusal: "Too many connections (limit 1).")
        let frame = try await Self.nextFrame(channel)
        let goAway = try FrameHeaders.decode(GoAway.self, from: frame.header)
        #expect(frame.kind == .goAway && goAway.code == StatusCode.resourceExhausted.rawValue)
        #expect(goAway.message == "Too many connections (limit 1).")
        try await finished.get()
    }

    // MARK: Client

    /// What a client connection told its pool.
    final class UnusableReports: Sendable {
        private let storage = Mutex<[ClientConnectionHandler.StateMachine.Unusable]>([])
        func append(_ reason: ClientConnectionHandler.StateMachine.Unusable) {
            self.storage.withLock { $0.append(reason) }
        }
        var all: [ClientConnectionHandler.StateMachine.Unusable] { self.storage.withLock { $0 } }
    }

    static func clientChannel() async throws -> (NIOAsyncTestingChannel, ClientConnection, UnusableReports) {
        let loop = NIOAsyncTestingEventLoop()
        let reports = UnusableReports()
        let channel = try await NIOAsyncTestingChannel(loop: loop) { channel in
            let handler = ClientConnectionHandler(configuration: ClientConfiguration()) { reason in
                reports.append(reason)
            }
            try channel.pipeline.syncOperations.addHandler(handler)
        }
        try await channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9))
        let connection = try await loop.executeInContext {
            let handler = try channel.pipeline.syncOperations.handler(type: ClientConnectionHandler.self)
            return ClientConnection(channel: channel, handler: NIOLoopBound(handler, eventLoop: loop))
        }
        return (channel, connection, reports)
    }

    static func outbound(_ descriptor: MethodDescriptor, deadline: ContinuousClock.Instant? = nil) throws
        -> OutboundRequest
    {
        OutboundRequest(
            header: try RequestHeaderTemplate(descriptor: descriptor, options: ResolvedCallOptions(deadline: deadline)),
            payload: try echoRequest("hi").serializedBytes(), flags: [.endStream, .hasMessage])
    }

    @Test("A call writes one REQUEST, built with its id and the time it has left, and resumes with the RESPONSE")
    func clientUnary() async throws {
        let (channel, connection, _) = try await Self.clientChannel()
        let request = try Self.outbound(Echo.Method.unary, deadline: .now.advanced(by: .seconds(5)))
        let answer = Task { try await connection.unary(request) }
        let frame = try await Self.nextFrame(channel)
        #expect(frame.kind == .request && frame.callID == 1)
        let header = try FrameHeaders.decode(RequestHeader.self, from: frame.header)
        #expect(header.method == Echo.Method.unary.path)
        #expect((4_000_000...5_000_000).contains(header.timeoutMicros))
        var response = ByteBuffer()
        response.writeFrame(kind: .response, flags: .hasMessage, callID: 1, payload: [7])
        var decoder = FrameDecoder(maxFrameSize: 1024)
        try await channel.writeInbound(try decoder.decode(buffer: &response)!)
        #expect(try await answer.value == [7])
    }

    @Test("At its deadline a call fails DEADLINE_EXCEEDED and the server is sent CANCEL")
    func clientDeadline() async throws {
        let (channel, connection, _) = try await Self.clientChannel()
        let request = try Self.outbound(Echo.Method.unary, deadline: .now.advanced(by: .seconds(2)))
        let answer = Task { try await connection.unary(request) }
        _ = try await Self.nextFrame(channel)
        await channel.testingEventLoop.advanceTime(by: .seconds(3))
        let cancel = try await Self.nextFrame(channel)
        #expect(cancel.kind == .cancel && cancel.callID == 1)
        await #expect(
            throws: RPCError(code: .deadlineExceeded, message: "The deadline passed before the server answered.")
        ) {
            try await answer.value
        }
    }

    @Test("A GOAWAY with an error fails the calls above its id, never sent, with the server's words")
    func clientRefused() async throws {
        let (channel, connection, reports) = try await Self.clientChannel()
        let request = try Self.outbound(Echo.Method.unary)
        let answer = Task { try await connection.unary(request) }
        _ = try await Self.nextFrame(channel)
        var buffer = ByteBuffer()
        FrameHeaders.writeGoAway(
            code: .resourceExhausted, message: "Too many connections (limit 1).", lastCallID: 0, into: &buffer)
        var decoder = FrameDecoder(maxFrameSize: 1024)
        try await channel.writeInbound(try decoder.decode(buffer: &buffer)!)
        let error = await #expect(throws: RPCError.self) { try await answer.value }
        #expect(error?.code == .unavailable && error?.neverSent == true)
        #expect(error?.message.contains("Too many connections (limit 1).") == true)
        #expect(reports.all == [.refused("Too many connections (limit 1).")])
    }
}

/// An echo service whose `Unary` and `Sleep` say when they started and
/// whether they were cancelled.
final class HandlerProbe: EchoServiceProtocol {
    private let state = Mutex<(started: Int, cancelled: Int, waiters: [CheckedContinuation<Void, Never>])>((0, 0, []))
    let ignoringDeadline: Bool

    init(ignoringDeadline: Bool = false) { self.ignoringDeadline = ignoringDeadline }

    var started: Int { self.state.withLock { $0.started } }

    private func record(
        _ change: (inout (started: Int, cancelled: Int, waiters: [CheckedContinuation<Void, Never>])) -> Void
    ) {
        let waiters = self.state.withLock { state in
            change(&state)
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns once the counts satisfy `condition`; woken by each change.
    private func wait(until condition: @escaping @Sendable (_ started: Int, _ cancelled: Int) -> Bool) async {
        while !self.state.withLock({ condition($0.started, $0.cancelled) }) {
            await withCheckedContinuation { continuation in
                let satisfied = self.state.withLock { state -> Bool in
                    if condition(state.started, state.cancelled) { return true }
                    state.waiters.append(continuation)
                    return false
                }
                if satisfied { continuation.resume() }
            }
        }
    }

    func waitUntilStarted(count: Int = 1) async throws { await self.wait { started, _ in started >= count } }
    func waitUntilCancelled(count: Int = 1) async throws { await self.wait { _, cancelled in cancelled >= count } }

    func unary(request: EchoRequest, context: ServerContext) async throws -> EchoResponse {
        self.record { $0.started += 1 }
        if self.ignoringDeadline, let deadline = context.deadline {
            try? await Task.sleep(until: deadline.advanced(by: .milliseconds(5)), clock: .continuous)
        }
        var response = EchoResponse()
        response.text = request.text
        return response
    }

    func sleep(request: SleepRequest, context: ServerContext) async throws -> EchoResponse {
        self.record { $0.started += 1 }
        do {
            try await Task.sleep(for: .milliseconds(Int(request.millis)))
        } catch {
            self.record { $0.cancelled += 1 }
            throw error
        }
        return EchoResponse()
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
