import Synchronization

/// One replica's calls as a ``ReplicaPool`` sees them: a transport to one
/// endpoint that keeps its connections up and reports, through the callback
/// it was made with, whether it can take a call now.
public protocol ReplicaChannel: ClientTransport {
    /// Keeps the connections up until ``close()``.
    func run() async
    /// Stops reconnecting; open calls finish, then the connections close.
    func close()
    /// Connects an idle channel now: a call is waiting for it.
    func connect()
}

/// Makes the channel of one replica; it reports readiness changes to the
/// closure it is given.
public typealias ReplicaChannelFactory =
    @Sendable (Endpoint, _ readinessChanged: @escaping @Sendable (ReplicaReadiness) -> Void) -> any ReplicaChannel

/// The one pool between a client and the wire: picks a replica (healthy,
/// not ejected, connection ready, least loaded), waits for a connection when
/// none is ready yet, caps the calls in flight, and makes **one attempt**
/// per call. Its errors say whether the call left (``CallNeverSent``);
/// ``RPCClient`` alone decides to try again.
public final class ReplicaPool: ClientTransport, Sendable {
    /// Short name for errors, e.g. `trade` or `127.0.0.1:7001`.
    public let name: String
    public let configuration: ReplicaPoolConfiguration
    private let makeChannel: ReplicaChannelFactory
    private let state: Mutex<State>

    private struct State {
        var book: ReplicaBook
        var channels: [Endpoint: any ReplicaChannel] = [:]
        /// The same channels in the book's order, for the call path.
        var channelsInOrder: [any ReplicaChannel] = []
        var waiters: [Int: CheckedContinuation<Void, any Error>] = [:]
        var nextWaiterID = 0
        /// Counts readiness and health changes, so a waiter that registers
        /// just after one does not sleep through it.
        var generation = 0
        var isShutdown = false
        /// Channels to run; `run()` reads them.
        var started: AsyncStream<any ReplicaChannel>.Continuation?
        var unstarted: [any ReplicaChannel] = []
        var membershipWatchers: [AsyncStream<[Endpoint]>.Continuation] = []
    }

    public init(
        name: String, endpoints: [Endpoint], configuration: ReplicaPoolConfiguration = .defaults,
        makeChannel: @escaping ReplicaChannelFactory
    ) {
        self.name = name
        self.configuration = configuration
        self.makeChannel = makeChannel
        self.state = Mutex(State(book: ReplicaBook(configuration: configuration)))
        self.setEndpoints(endpoints)
    }

    // MARK: What the pool knows

    /// The replicas and what the pool knows about them.
    public var replicas: [ReplicaBook.Replica] { self.state.withLock { $0.book.replicas } }

    /// Whether a call could go to a usable replica now.
    public var isReady: Bool { self.state.withLock { $0.book.hasEligibleReplica() } }

    /// Replicas ejected since the pool started.
    public var ejectionTotal: Int { self.state.withLock { $0.book.ejectionTotal } }

    /// The channel of one replica (health checks go to a replica, not to the pool).
    public func channel(for endpoint: Endpoint) -> (any ReplicaChannel)? {
        self.state.withLock { $0.channels[endpoint] }
    }

    /// Records a health check's verdict for a replica.
    public func setHealthy(_ endpoint: Endpoint, _ healthy: Bool) {
        self.state.withLock { $0.book.setHealthy(endpoint, healthy) }
        self.wakeWaiters()
    }

    /// Applies a new membership: channels for new replicas, closing those of
    /// replicas gone. Returns the endpoints added and removed.
    @discardableResult
    public func setEndpoints(_ endpoints: [Endpoint]) -> (added: [Endpoint], removed: [Endpoint]) {
        let (change, stopped) = self.state.withLock { state in
            guard !state.isShutdown else { return (([Endpoint](), [Endpoint]()), [any ReplicaChannel]()) }
            let change = state.book.setEndpoints(endpoints)
            for endpoint in change.added {
                let channel = self.makeChannel(endpoint) { [weak self] readiness in
                    self?.readinessChanged(endpoint, readiness)
                }
                state.channels[endpoint] = channel
                if let started = state.started { started.yield(channel) } else { state.unstarted.append(channel) }
            }
            let stopped = change.removed.compactMap { state.channels.removeValue(forKey: $0) }
            state.channelsInOrder = state.book.replicas.map { state.channels[$0.endpoint]! }
            if !change.added.isEmpty || !change.removed.isEmpty {
                for watcher in state.membershipWatchers { watcher.yield(state.book.endpoints) }
            }
            return (change, stopped)
        }
        for channel in stopped { channel.close() }
        if !stopped.isEmpty { self.wakeWaiters() }
        return change
    }

    /// The replicas now, then after every change, until the pool closes.
    public func membership() -> AsyncStream<[Endpoint]> {
        let (stream, continuation) = AsyncStream.makeStream(of: [Endpoint].self)
        let open = self.state.withLock { state -> Bool in
            guard !state.isShutdown else { return false }
            state.membershipWatchers.append(continuation)
            continuation.yield(state.book.endpoints)
            return true
        }
        if !open { continuation.finish() }
        return stream
    }

    /// Returns once `endpoint` has a connection ready; throws when it leaves
    /// the pool or the pool closes.
    ///
    /// Whoever waits for a replica to be ready wants a connection to it, as
    /// a call does: a replica left idle (its server sent GOAWAY, or closed an
    /// idle connection) is asked to connect. Otherwise a replica restarted
    /// while others serve would stay unconnected, since calls only wake an
    /// idle replica when no other can take them.
    public func waitUntilReady(_ endpoint: Endpoint) async throws {
        try await self.waitUntil(endpoint, connectingIfIdle: true) { $0.readiness == .ready }
    }

    /// Returns once what the pool knows of `endpoint` (its readiness, its
    /// health) satisfies `condition`; throws when it leaves the pool or the
    /// pool closes. With `connectingIfIdle`, an idle replica is asked to
    /// connect while the wait lasts.
    public func waitUntil(
        _ endpoint: Endpoint, connectingIfIdle: Bool = false, _ condition: (ReplicaBook.Replica) -> Bool
    ) async throws {
        while true {
            let waiting = try self.state.withLock { state -> (generation: Int, idle: (any ReplicaChannel)?)? in
                guard !state.isShutdown, let replica = state.book.replicas.first(where: { $0.endpoint == endpoint })
                else { throw CancellationError() }
                if condition(replica) { return nil }
                let idle = connectingIfIdle && replica.readiness == .idle ? state.channels[endpoint] : nil
                return (state.generation, idle)
            }
            guard let waiting else { return }
            waiting.idle?.connect()
            try await self.waitForChange(after: waiting.generation)
        }
    }

    private func readinessChanged(_ endpoint: Endpoint, _ readiness: ReplicaReadiness) {
        self.state.withLock { $0.book.setReadiness(endpoint, readiness) }
        self.wakeWaiters()
    }

    // MARK: Calls

    public func unary(
        descriptor: MethodDescriptor, request: [UInt8], options: ResolvedCallOptions
    ) async throws -> [UInt8] {
        let picked = try await self.acquire(descriptor, deadline: options.deadline)
        do {
            let response = try await picked.channel.unary(descriptor: descriptor, request: request, options: options)
            self.finish(picked, error: nil)
            return response
        } catch {
            let error = RPCError(converting: error)
            self.finish(picked, error: error)
            throw error
        }
    }

    public func streaming<Result: Sendable>(
        descriptor: MethodDescriptor, options: ResolvedCallOptions,
        requests: @escaping @Sendable (RawMessageWriter) async throws -> Void,
        responses: (RawMessageStream) async throws -> Result
    ) async throws -> Result {
        let picked = try await self.acquire(descriptor, deadline: options.deadline)
        do {
            let result = try await picked.channel.streaming(
                descriptor: descriptor, options: options, requests: requests, responses: responses)
            self.finish(picked, error: nil)
            return result
        } catch {
            let error = RPCError(converting: error)
            self.finish(picked, error: error)
            throw error
        }
    }

    /// The replica a call went to.
    private struct Picked {
        let index: Int
        let endpoint: Endpoint
        let channel: any ReplicaChannel
    }

    /// A replica for one call. Inlined so that a call finding a ready
    /// replica (nearly every call) costs one lock and no suspension point;
    /// only a call that must wait enters ``waitForReplica(_:deadline:after:)``.
    @inline(__always)
    private func acquire(_ descriptor: MethodDescriptor, deadline: ContinuousClock.Instant?) async throws -> Picked {
        let admitted = self.state.withLock { state -> AcquireStep? in
            guard !state.isShutdown, state.book.admit() else { return nil }
            return Self.nextStep(&state)
        }
        guard let step = admitted else { throw self.refusal(descriptor) }
        if case .replica(let picked) = step { return picked }
        return try await self.waitForReplica(descriptor, deadline: deadline, after: step)
    }

    private enum AcquireStep {
        case replica(Picked)
        case fail(String)
        case wait([any ReplicaChannel], generation: Int)
    }

    /// What an admitted call does next; called under the lock.
    private static func nextStep(_ state: inout State) -> AcquireStep {
        switch state.book.choose() {
        case .replica(let index):
            return .replica(
                Picked(
                    index: index, endpoint: state.book.replicas[index].endpoint, channel: state.channelsInOrder[index]))
        case .fail(let reason):
            return .fail(reason)
        case .wait:
            var idle: [any ReplicaChannel] = []
            for (index, replica) in state.book.replicas.enumerated() where replica.readiness == .idle {
                idle.append(state.channelsInOrder[index])
            }
            return .wait(idle, generation: state.generation)
        }
    }

    /// An admitted call that found no ready replica: connects idle ones and
    /// waits for a change, up to the connection wait and the deadline.
    private func waitForReplica(
        _ descriptor: MethodDescriptor, deadline: ContinuousClock.Instant?, after first: AcquireStep
    ) async throws -> Picked {
        var step = first
        var waitLimit: ContinuousClock.Instant?
        do {
            while true {
                switch step {
                case .replica(let picked):
                    return picked
                case .fail(let reason):
                    throw RPCError(
                        code: .unavailable, message: "Cannot connect to \(self.name): \(reason)",
                        cause: CallNeverSent(reason))
                case .wait(let idle, let generation):
                    for channel in idle { channel.connect() }
                    let limit = waitLimit ?? ContinuousClock.now.advanced(by: self.configuration.connectionWait)
                    waitLimit = limit
                    try await self.waitForReadiness(
                        after: generation, until: deadline.map { min($0, limit) } ?? limit, deadline: deadline)
                }
                step = self.state.withLock { Self.nextStep(&$0) }
            }
        } catch {
            self.state.withLock { $0.book.release() }
            throw error
        }
    }

    private func refusal(_ descriptor: MethodDescriptor) -> RPCError {
        if self.state.withLock({ $0.isShutdown }) {
            return RPCError(code: .unavailable, message: "The client is closed.", cause: CallNeverSent("closed"))
        }
        return RPCError(
            code: .resourceExhausted,
            message:
                "\(self.configuration.maxOutstandingCalls) calls to \(self.name) are in flight; \(descriptor.path) was not sent.",
            cause: CallNeverSent("pool at capacity"))
    }

    /// UNAVAILABLE says the replica, not the request, failed; other codes
    /// are the server's answer and keep the replica in good standing.
    private func finish(_ picked: Picked, error: RPCError?) {
        self.state.withLock { state in
            state.book.finish(
                index: picked.index, endpoint: picked.endpoint, replicaFailed: error?.code == .unavailable)
            state.book.release()
        }
    }

    // MARK: Waiting for a connection

    private func waitForReadiness(
        after generation: Int, until limit: ContinuousClock.Instant, deadline: ContinuousClock.Instant?
    ) async throws {
        let timeout: RPCError =
            deadline.map { $0 <= limit } ?? false
            ? RPCError(
                code: .deadlineExceeded, message: "The deadline passed while waiting for a connection to \(self.name).",
                cause: CallNeverSent("no connection"))
            : RPCError(
                code: .unavailable,
                message: "Cannot connect to \(self.name): no connection within \(self.configuration.connectionWait).",
                cause: CallNeverSent("no connection"))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.waitForChange(after: generation) }
            group.addTask {
                try await Task.sleep(until: limit, clock: .continuous)
                throw timeout
            }
            defer { group.cancelAll() }
            try await group.next()
        }
    }

    /// Returns at the next change of readiness, health or membership after
    /// `generation` (at once if one happened since).
    private func waitForChange(after generation: Int) async throws {
        let id = self.state.withLock { state in
            state.nextWaiterID += 1
            return state.nextWaiterID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let registered = self.state.withLock { state -> Bool? in
                    guard !state.isShutdown, !Task.isCancelled else { return nil }
                    guard state.generation == generation else { return false }
                    state.waiters[id] = continuation
                    return true
                }
                switch registered {
                case nil: continuation.resume(throwing: CancellationError())
                case false: continuation.resume()
                case true: break
                }
            }
        } onCancel: {
            self.state.withLock { $0.waiters.removeValue(forKey: id) }?.resume(throwing: CancellationError())
        }
    }

    private func wakeWaiters() {
        let waiters = self.state.withLock { state in
            state.generation += 1
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    // MARK: Lifecycle

    /// Runs every replica's channel (and those added later) until ``close()``.
    public func run() async {
        let (stream, continuation) = AsyncStream.makeStream(of: (any ReplicaChannel).self)
        let ready = self.state.withLock { state -> Bool in
            guard !state.isShutdown else { return false }
            state.started = continuation
            for channel in state.unstarted { continuation.yield(channel) }
            state.unstarted = []
            return true
        }
        guard ready else { return }
        await withTaskCancellationHandler {
            await withDiscardingTaskGroup { group in
                for await channel in stream {
                    group.addTask { await channel.run() }
                }
            }
        } onCancel: {
            self.close()
        }
    }

    /// Stops: fails waiting calls, closes every channel, ends ``run()``.
    public func close() {
        let (channels, started, waiters, watchers) = self.state.withLock { state in
            state.isShutdown = true
            defer {
                state.started = nil
                state.waiters.removeAll()
                state.membershipWatchers.removeAll()
            }
            return (Array(state.channels.values), state.started, Array(state.waiters.values), state.membershipWatchers)
        }
        started?.finish()
        for watcher in watchers { watcher.finish() }
        for channel in channels { channel.close() }
        for waiter in waiters {
            waiter.resume(
                throwing: RPCError(code: .unavailable, message: "The client is closed.", cause: CallNeverSent("closed"))
            )
        }
    }
}
