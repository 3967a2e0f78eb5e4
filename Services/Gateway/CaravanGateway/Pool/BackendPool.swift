import CaravanCore
import CaravanHealthAPI
import CaravanServiceKit
import Logging
import ServiceLifecycle
import Synchronization

/// One backend service's replicas behind one ``ClientTransport``: calls
/// spread over healthy replicas (least outstanding, round robin on ties),
/// failing replicas are ejected for a growing back-off, a cap on calls in
/// flight answers RESOURCE_EXHAUSTED at once, and safe calls are retried on
/// another replica within their deadline and a ``RetryBudget``.
///
/// `run()` (a swift-service-lifecycle `Service`) keeps the replicas'
/// connections up, health-checks them and re-resolves named addresses.
public final class BackendPool: ClientTransport, Service, Sendable {
    /// Short name for logs and errors, e.g. `trade`.
    public let name: String
    /// The backend's service name, asked about in health checks.
    public let healthService: String
    /// The addresses as configured (names not yet resolved).
    public let configured: [Endpoint]
    public let configuration: BackendPoolConfiguration
    private let makeTransport: @Sendable (Endpoint) -> any ReplicaTransport
    private let resolve: @Sendable ([Endpoint]) async -> [Endpoint]
    private let logger: Logger
    private let state: Mutex<State>

    private struct State {
        var book: ReplicaBook
        var transports: [Endpoint: any ReplicaTransport] = [:]
        var budget: RetryBudget
        var isShutdown = false
        var added: AsyncStream<Endpoint>.Continuation?
    }

    public init(
        name: String,
        healthService: String,
        addresses: [Endpoint],
        configuration: BackendPoolConfiguration = .defaults,
        logger: Logger = Logger(label: "caravan.gateway.pool"),
        resolve: @escaping @Sendable ([Endpoint]) async -> [Endpoint] = AddressResolver.resolve,
        makeTransport: @escaping @Sendable (Endpoint) -> any ReplicaTransport
    ) {
        self.name = name
        self.healthService = healthService
        self.configured = addresses
        self.configuration = configuration
        self.makeTransport = makeTransport
        self.resolve = resolve
        var logger = logger
        logger[metadataKey: "backend"] = "\(name)"
        self.logger = logger
        // IP literals serve at once; names join when run() resolves them.
        var book = ReplicaBook(configuration: configuration)
        let literals = addresses.filter { AddressResolver.isIPLiteral($0.host) }
        _ = book.setEndpoints(literals)
        var transports: [Endpoint: any ReplicaTransport] = [:]
        for endpoint in book.endpoints { transports[endpoint] = makeTransport(endpoint) }
        self.state = Mutex(State(book: book, transports: transports, budget: configuration.retryBudget))
    }

    /// Whether any address is configured at all (an aggregate skips the
    /// sections of a backend that has none).
    public var isConfigured: Bool { !self.configured.isEmpty }

    /// The replicas and what the pool knows about them.
    public var replicas: [ReplicaBook.Replica] { self.state.withLock { $0.book.replicas } }

    /// Retry tokens left.
    public var retryTokens: Double { self.state.withLock { $0.budget.tokens } }

    /// Whether a call could go to a healthy, non-ejected replica now.
    public var isReady: Bool { self.state.withLock { $0.book.hasEligibleReplica() } }

    // MARK: Calls

    public func unary(
        descriptor: MethodDescriptor,
        request: [UInt8],
        options: ResolvedCallOptions
    ) async throws -> [UInt8] {
        try self.admit(descriptor)
        defer { self.state.withLock { $0.book.release() } }
        var tried = Set<Endpoint>()
        var lastError: RPCError?
        for attempt in 1...self.configuration.maxAttempts {
            guard let (endpoint, transport) = self.pick(excluding: tried) else { break }
            tried.insert(endpoint)
            do {
                let response = try await transport.unary(descriptor: descriptor, request: request, options: options)
                self.finish(endpoint, error: nil)
                return response
            } catch {
                let rpcError = RPCError(converting: error)
                self.finish(endpoint, error: rpcError)
                lastError = rpcError
                guard attempt < self.configuration.maxAttempts, self.mayRetry(rpcError, options: options) else {
                    throw rpcError
                }
                self.logger.debug(
                    "Retrying on another replica",
                    metadata: ["rpc.method": "\(descriptor.path)", "replica": "\(endpoint)", "rpc.code": "\(rpcError.code)"])
            }
        }
        throw lastError
            ?? RPCError(
                code: .unavailable, message: "No replica of the \(self.name) service is configured or resolvable.",
                cause: CallNeverSent("no replica"))
    }

    public func streaming<Result: Sendable>(
        descriptor: MethodDescriptor,
        options: ResolvedCallOptions,
        requests: @escaping @Sendable (RawMessageWriter) async throws -> Void,
        responses: (RawMessageStream) async throws -> Result
    ) async throws -> Result {
        // A stream is not replayed: its requests are written once.
        try self.admit(descriptor)
        defer { self.state.withLock { $0.book.release() } }
        guard let (endpoint, transport) = self.pick(excluding: []) else {
            throw RPCError(
                code: .unavailable, message: "No replica of the \(self.name) service is configured or resolvable.",
                cause: CallNeverSent("no replica"))
        }
        do {
            let result = try await transport.streaming(
                descriptor: descriptor, options: options, requests: requests, responses: responses)
            self.finish(endpoint, error: nil)
            return result
        } catch {
            let rpcError = RPCError(converting: error)
            self.finish(endpoint, error: rpcError)
            throw rpcError
        }
    }

    private func admit(_ descriptor: MethodDescriptor) throws {
        let admitted = self.state.withLock { $0.book.admit() }
        guard admitted else {
            throw RPCError(
                code: .resourceExhausted,
                message:
                    "The gateway has \(self.configuration.maxOutstandingCalls) calls to the \(self.name) service in flight; \(descriptor.path) was not sent.",
                cause: CallNeverSent("pool at capacity"))
        }
    }

    private func pick(excluding tried: Set<Endpoint>) -> (Endpoint, any ReplicaTransport)? {
        self.state.withLock { state in
            guard let endpoint = state.book.pick(excluding: tried), let transport = state.transports[endpoint] else {
                return nil
            }
            return (endpoint, transport)
        }
    }

    /// UNAVAILABLE says the replica, not the request, failed; other codes
    /// are the backend's answer and keep the replica in good standing.
    private func finish(_ endpoint: Endpoint, error: RPCError?) {
        let replicaFailed = error?.code == .unavailable
        self.state.withLock { state in
            state.book.finish(endpoint, replicaFailed: replicaFailed)
            if replicaFailed { state.budget.recordFailure() } else { state.budget.recordSuccess() }
        }
    }

    /// Safe to repeat on another replica: UNAVAILABLE, and either never sent
    /// or carrying an idempotency key; before the deadline; and, for calls
    /// that did reach a replica, within the retry budget. A call that never
    /// left cannot add load anywhere, so it does not draw on the budget.
    private func mayRetry(_ error: RPCError, options: ResolvedCallOptions) -> Bool {
        guard error.code == .unavailable, error.neverSent || options.idempotencyKey != nil else { return false }
        if let deadline = options.deadline, deadline <= .now { return false }
        if Task.isCancelled { return false }
        if error.neverSent { return true }
        return self.state.withLock { $0.budget.allowsRetry }
    }

    // MARK: Keeping replicas up

    /// Keeps every replica's connections up and health-checked, and
    /// re-resolves named addresses, until graceful shutdown or cancellation.
    public func run() async throws {
        let (added, continuation) = AsyncStream.makeStream(of: Endpoint.self)
        let initial = self.state.withLock { state -> [Endpoint]? in
            guard !state.isShutdown else { return nil }
            state.added = continuation
            return state.book.endpoints
        }
        guard let initial else { return }  // shut down before it ran
        for endpoint in initial { continuation.yield(endpoint) }
        await withGracefulShutdownHandler {
            await withTaskCancellationHandler {
                await withDiscardingTaskGroup { group in
                    if self.configured.contains(where: { !AddressResolver.isIPLiteral($0.host) }) {
                        group.addTask { await self.resolveLoop() }
                    }
                    for await endpoint in added {
                        group.addTask { await self.runReplica(endpoint) }
                    }
                    group.cancelAll()
                }
            } onCancel: {
                self.shutDown()
            }
        } onGracefulShutdown: {
            self.shutDown()
        }
    }

    /// Stops: closes every replica's transport and ends `run()`.
    public func shutDown() {
        let (transports, continuation) = self.state.withLock { state in
            state.isShutdown = true
            defer { state.added = nil }
            return (Array(state.transports.values), state.added)
        }
        continuation?.finish()
        for transport in transports { transport.close() }
    }

    private func runReplica(_ endpoint: Endpoint) async {
        guard let transport = self.state.withLock({ $0.transports[endpoint] }) else { return }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await transport.run() }
            group.addTask { await self.healthLoop(endpoint, transport: transport) }
            // The transport's run() ends when it is closed; then stop checking.
            _ = await group.next()
            group.cancelAll()
        }
    }

    /// Watches the replica's health: the server pushes each change (a
    /// draining replica says NOT_SERVING before it sends GOAWAY), so calls
    /// stop going to it at once rather than at the next poll. A watch that
    /// ends or cannot start (replica gone, draining, unreachable: the
    /// transport's keepalive ends a silent one) marks it unhealthy until a
    /// new watch says otherwise.
    private func healthLoop(_ endpoint: Endpoint, transport: any ReplicaTransport) async {
        let client = HealthClient(wrapping: RPCClient(transport: transport, retryPolicy: .none))
        var wasHealthy = true
        func record(_ healthy: Bool) {
            self.state.withLock { $0.book.setHealthy(endpoint, healthy) }
            if healthy != wasHealthy {
                self.logger.info(healthy ? "Replica healthy" : "Replica unhealthy", metadata: ["replica": "\(endpoint)"])
                wasHealthy = healthy
            }
        }
        while !Task.isCancelled {
            try? await client.watch(HealthCheckRequest(service: self.healthService)) { statuses in
                for try await response in statuses {
                    if Task.isCancelled { return }
                    record(response.status == .serving)
                }
            }
            if Task.isCancelled { return }
            record(false)
            try? await Task.sleep(for: self.configuration.healthRewatchDelay)
        }
    }

    private func resolveLoop() async {
        while !Task.isCancelled {
            let endpoints = await self.resolve(self.configured)
            if Task.isCancelled { return }
            self.apply(endpoints)
            try? await Task.sleep(for: self.configuration.resolveInterval)
        }
    }

    /// Applies a new membership: starts transports for new replicas, closes
    /// those of replicas gone. An empty answer keeps the old set, since a
    /// failed lookup is likelier than a service with no pods.
    func apply(_ endpoints: [Endpoint]) {
        guard !endpoints.isEmpty else { return }
        let (started, stopped, continuation) = self.state.withLock { state in
            guard !state.isShutdown else {
                return ([Endpoint](), [any ReplicaTransport](), AsyncStream<Endpoint>.Continuation?.none)
            }
            let (added, removed) = state.book.setEndpoints(endpoints)
            for endpoint in added { state.transports[endpoint] = self.makeTransport(endpoint) }
            let stopped = removed.compactMap { state.transports.removeValue(forKey: $0) }
            return (added, stopped, state.added)
        }
        if !started.isEmpty || !stopped.isEmpty {
            self.logger.info("Replicas changed", metadata: ["added": "\(started)", "removed": "\(stopped.count)"])
        }
        for endpoint in started { continuation?.yield(endpoint) }
        for transport in stopped { transport.close() }
    }
}
