import Atomics
import CaravanCore
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Calls one server endpoint over the Caravan wire protocol, on a small
/// pool of multiplexed connections.
///
/// `run()` keeps the pool's connections up, reconnecting with exponential
/// backoff and jitter; calls spread over the ready connections. A call
/// that finds no connection waits at most the connect timeout (or its
/// deadline) and then fails UNAVAILABLE (or DEADLINE_EXCEEDED): it never
/// hangs. While every connection attempt is failing, calls fail at once.
public final class TCPClientTransport: ClientTransport, Sendable {
    public let host: String
    public let port: Int
    public let configuration: ClientConfiguration
    private let group: any EventLoopGroup
    private let state: NIOLockedValueBox<PoolState>
    private let nextPick = ManagedAtomic<Int>(0)

    private enum Slot {
        case connecting
        case ready(ClientConnection)
        case failing(String)
        /// The server closed the connection in good order (idle or
        /// draining); a new one is made when a call needs it.
        case idle
    }

    private struct PoolState {
        var slots: [Slot]
        var waiters: [Int: CheckedContinuation<ClientConnection, any Error>] = [:]
        var nextWaiterID = 0
        var isShutdown = false
        /// Wakes slot loops (reconnect now, or shut down).
        var wakeups: [Int: EventLoopPromise<Void>] = [:]
        /// Idle slots a call asked to reconnect (possibly before they slept).
        var wakeRequests: Set<Int> = []
    }

    public init(
        host: String,
        port: Int,
        configuration: ClientConfiguration = .defaults,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) {
        self.host = host
        self.port = port
        self.configuration = configuration
        self.group = group
        self.state = NIOLockedValueBox(
            PoolState(slots: Array(repeating: .connecting, count: configuration.connectionsPerEndpoint)))
    }

    /// The event loops of the connections now ready (for callers that want
    /// to run on them, e.g. a load generator).
    public var readyEventLoops: [any EventLoop] {
        self.state.withLockedValue { state in
            state.slots.compactMap { slot in
                if case .ready(let connection) = slot { return connection.eventLoop }
                return nil
            }
        }
    }

    /// `host:port`
    public var endpointDescription: String { "\(self.host):\(self.port)" }

    // MARK: Keeping connections up

    /// Maintains the pool until ``close()`` or task cancellation.
    public func run() async {
        await withTaskCancellationHandler {
            await withDiscardingTaskGroup { group in
                for index in 0..<self.configuration.connectionsPerEndpoint {
                    group.addTask { await self.maintain(slot: index) }
                }
            }
        } onCancel: {
            self.close()
        }
    }

    private func maintain(slot index: Int) async {
        var failures = 0
        while !self.isShutdown {
            do {
                let (connection, unusable) = try await self.connect()
                failures = 0
                self.setSlot(index, .ready(connection))
                if self.isShutdown {
                    // close() ran while this connection was being made and did not see it.
                    connection.eventLoop.execute { connection.handler.value.close() }
                }
                let graceful = (try? await unusable.get()) ?? false
                if graceful {
                    // Do not reconnect at once: the server may have closed it for
                    // being idle. The next call that needs it wakes the slot.
                    self.setSlot(index, .idle)
                    await self.pause(.seconds(86_400 * 365), slot: index)
                }
                self.setSlot(index, .connecting)
            } catch {
                failures += 1
                self.setSlot(index, .failing("\(error)"))
                await self.pause(self.configuration.backoff(afterFailures: failures), slot: index)
            }
        }
        if case .ready(let connection) = self.slot(index) {
            connection.eventLoop.execute { connection.handler.value.close() }
        }
    }

    private func connect() async throws -> (ClientConnection, EventLoopFuture<Bool>) {
        let configuration = self.configuration
        let eventLoop = self.group.next()
        let unusable = eventLoop.makePromise(of: Bool.self)
        let handshake = configuration.tls.map { _ in eventLoop.makePromise(of: Void.self) }
        let host = self.host
        let channel = try await ClientBootstrap(group: eventLoop)
            .connectTimeout(configuration.connectTimeout.nio)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelOption(.maxMessagesPerRead, value: 16)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls = configuration.tls, let handshake {
                        try channel.pipeline.syncOperations.addHandlers(
                            try tls.makeHandler(host: host), TLSHandshakeWaiter(promise: handshake))
                    }
                    let handler = ClientConnectionHandler(configuration: configuration) { graceful in
                        unusable.succeed(graceful)
                    }
                    try channel.pipeline.syncOperations.addHandlers(
                        FrameDecodingHandler(
                            maxFrameSize: configuration.maxFrameSize, frameTimeout: configuration.frameTimeout.nio),
                        handler
                    )
                }
            }
            .connect(host: self.host, port: self.port)
            .get()
        if let handshake {
            // A refused handshake fails this attempt with its reason; the
            // connection is not offered to calls before it is secure.
            let timeout = eventLoop.scheduleTask(in: configuration.connectTimeout.nio) {
                handshake.fail(TLSSettingsError("The TLS handshake did not finish within the connect timeout."))
            }
            defer { timeout.cancel() }
            do {
                try await handshake.futureResult.get()
            } catch {
                channel.close(promise: nil)
                throw error
            }
        }
        let connection = try await channel.eventLoop.submit {
            let handler = try channel.pipeline.syncOperations.handler(type: ClientConnectionHandler.self)
            return ClientConnection(channel: channel, handler: NIOLoopBound(handler, eventLoop: channel.eventLoop))
        }.get()
        var preface = channel.allocator.buffer(capacity: WireFormat.preface.count)
        preface.writeBytes(WireFormat.preface)
        try await channel.writeAndFlush(preface)
        channel.closeFuture.whenComplete { _ in unusable.succeed(false) }
        return (connection, unusable.futureResult)
    }

    private var isShutdown: Bool { self.state.withLockedValue { $0.isShutdown } }

    private func slot(_ index: Int) -> Slot { self.state.withLockedValue { $0.slots[index] } }

    private func setSlot(_ index: Int, _ slot: Slot) {
        let (waiters, failure) = self.state.withLockedValue {
            state -> ([CheckedContinuation<ClientConnection, any Error>], Result<ClientConnection, RPCError>?) in
            state.slots[index] = slot
            switch slot {
            case .ready(let connection):
                let waiters = Array(state.waiters.values)
                state.waiters.removeAll()
                return (waiters, .success(connection))
            case .failing(let reason):
                // Nobody is still trying: waiting callers fail now rather than at their timeout.
                guard state.slots.allSatisfy({ if case .failing = $0 { return true } else { return false } }) else {
                    return ([], nil)
                }
                let waiters = Array(state.waiters.values)
                state.waiters.removeAll()
                return (waiters, .failure(self.unavailable(reason)))
            case .connecting, .idle:
                return ([], nil)
            }
        }
        if let failure {
            for waiter in waiters { waiter.resume(with: failure) }
        }
    }

    private func pause(_ duration: Duration, slot index: Int) async {
        let eventLoop = self.group.next()
        let wakeup = eventLoop.makePromise(of: Void.self)
        let registered = self.state.withLockedValue { state -> Bool in
            guard !state.isShutdown, state.wakeRequests.remove(index) == nil else { return false }
            state.wakeups[index] = wakeup
            return true
        }
        guard registered else {
            wakeup.succeed(())
            return
        }
        let timer = eventLoop.scheduleTask(in: duration.nio) { wakeup.succeed(()) }
        try? await wakeup.futureResult.get()
        timer.cancel()
        _ = self.state.withLockedValue { $0.wakeups.removeValue(forKey: index) }
    }

    /// Stops reconnecting, fails waiting calls, and closes every connection
    /// once its open calls have finished.
    public func close() {
        let (waiters, wakeups, connections) = self.state.withLockedValue { state in
            state.isShutdown = true
            let waiters = Array(state.waiters.values)
            state.waiters.removeAll()
            let wakeups = Array(state.wakeups.values)
            let connections = state.slots.compactMap { slot -> ClientConnection? in
                if case .ready(let connection) = slot { return connection }
                return nil
            }
            return (waiters, wakeups, connections)
        }
        for waiter in waiters {
            waiter.resume(throwing: RPCError(code: .unavailable, message: "The client is closed.", cause: CallNeverSent("closed")))
        }
        for wakeup in wakeups { wakeup.succeed(()) }
        for connection in connections {
            connection.eventLoop.execute { connection.handler.value.close() }
        }
    }

    // MARK: Choosing a connection

    private func unavailable(_ reason: String) -> RPCError {
        RPCError(
            code: .unavailable,
            message: "Cannot connect to \(self.endpointDescription): \(reason)",
            cause: CallNeverSent(reason)
        )
    }

    private enum Pick {
        case connection(ClientConnection)
        case wait
        case fail(RPCError)
    }

    private func pick() -> Pick {
        let start = self.nextPick.loadThenWrappingIncrement(ordering: .relaxed)
        var toWake: [EventLoopPromise<Void>] = []
        defer { for wakeup in toWake { wakeup.succeed(()) } }
        return self.state.withLockedValue { state in
            if state.isShutdown {
                return .fail(RPCError(code: .unavailable, message: "The client is closed.", cause: CallNeverSent("closed")))
            }
            let count = state.slots.count
            // A caller running on a connection's event loop (see
            // EventLoopExecutor) uses that connection: no thread hand-off.
            for offset in 0..<count {
                if case .ready(let connection) = state.slots[(start &+ offset) % count],
                    connection.eventLoop.inEventLoop
                {
                    return .connection(connection)
                }
            }
            var allFailing = true
            var reason = ""
            for offset in 0..<count {
                let index = (start &+ offset) % count
                switch state.slots[index] {
                case .ready(let connection): return .connection(connection)
                case .connecting: allFailing = false
                case .failing(let why): reason = why
                case .idle:
                    allFailing = false
                    if let wakeup = state.wakeups.removeValue(forKey: index) {
                        toWake.append(wakeup)
                    } else {
                        state.wakeRequests.insert(index)
                    }
                }
            }
            return allFailing ? .fail(self.unavailable(reason)) : .wait
        }
    }

    /// A ready connection, waiting for one up to the connect timeout or
    /// the call's deadline.
    func connection(deadline: ContinuousClock.Instant?) async throws -> ClientConnection {
        switch self.pick() {
        case .connection(let connection): return connection
        case .fail(let error): throw error
        case .wait: break
        }
        var limit = ContinuousClock.now.advanced(by: self.configuration.connectTimeout)
        var timeoutError = self.unavailable("no connection within the connect timeout")
        if let deadline, deadline < limit {
            limit = deadline
            timeoutError = RPCError(
                code: .deadlineExceeded,
                message: "The deadline passed while waiting for a connection to \(self.endpointDescription).",
                cause: CallNeverSent("no connection")
            )
        }
        let eventLoop = self.group.next()
        let waiterID = self.state.withLockedValue { state -> Int in
            state.nextWaiterID += 1
            return state.nextWaiterID
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let immediate: Pick? = self.state.withLockedValue { state in
                    // Re-check under the lock: a connection may have come up meanwhile.
                    for slot in state.slots { if case .ready(let connection) = slot { return .connection(connection) } }
                    if state.isShutdown { return .fail(RPCError(code: .unavailable, message: "The client is closed.")) }
                    state.waiters[waiterID] = continuation
                    return nil
                }
                switch immediate {
                case .connection(let connection): continuation.resume(returning: connection)
                case .fail(let error): continuation.resume(throwing: error)
                default:
                    eventLoop.scheduleTask(deadline: limit.nioDeadline) {
                        self.failWaiter(waiterID, timeoutError)
                    }
                }
            }
        } onCancel: {
            self.failWaiter(waiterID, RPCError(code: .cancelled, message: "The call was cancelled.", cause: CallNeverSent("cancelled")))
        }
    }

    private func failWaiter(_ id: Int, _ error: RPCError) {
        let waiter = self.state.withLockedValue { $0.waiters.removeValue(forKey: id) }
        waiter?.resume(throwing: error)
    }

    // MARK: ClientTransport

    public func unary(
        descriptor: MethodDescriptor,
        request: [UInt8],
        options: ResolvedCallOptions
    ) async throws -> [UInt8] {
        let header = try Self.encodeHeader(descriptor: descriptor, options: options)
        try self.checkFrameSize(header.count + request.count, descriptor: descriptor)
        var attempt = 1
        while true {
            let connection = try await self.connection(deadline: options.deadline)
            var frame = connection.channel.allocator.buffer(capacity: WireFormat.prefixSize + header.count + request.count)
            frame.writeFrame(kind: .request, flags: [.endStream, .hasMessage], callID: 0, header: header, payload: request)
            do {
                return try await connection.unary(frame: frame, deadline: options.deadline?.nioDeadline)
            } catch let error as RPCError where error.neverSent && error.code == .unavailable && attempt < 5 {
                // The connection went away (GOAWAY, close) between choosing it
                // and sending: the call never left, so sending it on another
                // connection cannot repeat it. Whatever the caller's retry policy.
                attempt += 1
                try await Task.sleep(for: .milliseconds(attempt - 1))
            }
        }
    }

    public func streaming<Result: Sendable>(
        descriptor: MethodDescriptor,
        options: ResolvedCallOptions,
        requests: @escaping @Sendable (RawMessageWriter) async throws -> Void,
        responses: (RawMessageStream) async throws -> Result
    ) async throws -> Result {
        let connection = try await self.connection(deadline: options.deadline)
        let header = try Self.encodeHeader(descriptor: descriptor, options: options)
        let call = connection.openStream(deadline: options.deadline?.nioDeadline)
        let allocator = connection.channel.allocator
        let opener = RequestOpener(header: header)

        return try await withTaskCancellationHandler {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    let writer = RawMessageWriter { bytes in
                        try self.checkFrameSize(header.count + bytes.count, descriptor: descriptor)
                        if let header = opener.takeHeader() {
                            var frame = allocator.buffer(capacity: WireFormat.prefixSize + header.count + bytes.count)
                            frame.writeFrame(kind: .request, flags: .hasMessage, callID: 0, header: header, payload: bytes)
                            try await call.start(frame)
                        } else {
                            var frame = allocator.buffer(capacity: WireFormat.prefixSize + bytes.count)
                            frame.writeFrame(kind: .message, flags: .hasMessage, callID: 0, payload: bytes)
                            try await call.send(frame)
                        }
                    }
                    do {
                        try await requests(writer)
                    } catch {
                        call.cancel()
                        throw error
                    }
                    if let header = opener.takeHeader() {
                        var frame = allocator.buffer(capacity: WireFormat.prefixSize + header.count)
                        frame.writeFrame(kind: .request, flags: .endStream, callID: 0, header: header)
                        try await call.start(frame)
                    } else {
                        var frame = allocator.buffer(capacity: WireFormat.prefixSize)
                        frame.writeFrame(kind: .endOfStream, callID: 0)
                        try? await call.send(frame)  // the server may have answered already
                    }
                }
                do {
                    let result = try await responses(call.responses)
                    call.cancel()
                    try await group.waitForAll()
                    return result
                } catch {
                    call.cancel()
                    group.cancelAll()
                    throw error
                }
            }
        } onCancel: {
            call.cancel()
        }
    }

    /// Refuses, before sending, a frame the server would refuse for its size.
    private func checkFrameSize(_ bodySize: Int, descriptor: MethodDescriptor) throws {
        let length = WireFormat.fixedFieldsSize + bodySize
        guard length <= self.configuration.maxFrameSize else {
            throw RPCError(
                code: .resourceExhausted,
                message: "A \(length)-byte frame for \(descriptor.path) exceeds the limit of \(self.configuration.maxFrameSize) bytes.",
                cause: CallNeverSent("frame too large")
            )
        }
    }

    private static func encodeHeader(descriptor: MethodDescriptor, options: ResolvedCallOptions) throws -> [UInt8] {
        if options.deadline == nil, options.metadata.isEmpty, options.idempotencyKey == nil, options.trace == nil {
            return try Self.plainHeader(for: descriptor)
        }
        do {
            return try FrameHeaders.requestHeader(descriptor: descriptor, options: options).serializedBytes()
        } catch {
            throw RPCError(
                code: .invalidArgument, message: "Cannot encode the request header: \(error)",
                cause: CallNeverSent("bad header"))
        }
    }
}

extension TCPClientTransport {
    /// Headers of calls with no deadline, metadata, key or trace: the same
    /// bytes every time for a method, so they are encoded once.
    private static let plainHeaders = NIOLockedValueBox<[String: [UInt8]]>([:])

    fileprivate static func plainHeader(for descriptor: MethodDescriptor) throws -> [UInt8] {
        if let cached = Self.plainHeaders.withLockedValue({ $0[descriptor.path] }) { return cached }
        let header: [UInt8]
        do {
            header = try FrameHeaders.requestHeader(descriptor: descriptor, options: ResolvedCallOptions()).serializedBytes()
        } catch {
            throw RPCError(
                code: .invalidArgument, message: "Cannot encode the request header: \(error)",
                cause: CallNeverSent("bad header"))
        }
        Self.plainHeaders.withLockedValue { cache in
            if cache.count < 4096 { cache[descriptor.path] = header }
        }
        return header
    }
}

/// Hands out the REQUEST header once: the first request message opens the
/// call, later ones go in MESSAGE frames.
private final class RequestOpener: Sendable {
    private let header: NIOLockedValueBox<[UInt8]?>
    init(header: [UInt8]) { self.header = NIOLockedValueBox(header) }
    func takeHeader() -> [UInt8]? {
        self.header.withLockedValue { header in
            defer { header = nil }
            return header
        }
    }
}
