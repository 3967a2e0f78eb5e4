import CaravanCore
import CaravanHealthAPI
import Logging
import ServiceLifecycle

/// One backend service's replicas: a ``ReplicaPool`` (spreading, ejection,
/// the cap on calls in flight, one attempt per call) kept informed — each
/// replica's health watched, named addresses re-resolved — and the
/// ``RPCClient`` the gateway calls the backend with, which alone retries
/// (within the deadline and its throttle).
///
/// `run()` (a swift-service-lifecycle `Service`) keeps the replicas'
/// connections up, watches their health and re-resolves named addresses.
public final class BackendPool: ClientTransport, Service, Sendable {
    /// Short name for logs and errors, e.g. `trade`.
    public let name: String
    /// The backend's service name, asked about in health checks.
    public let healthService: String
    /// The addresses as configured (names not yet resolved).
    public let configured: [Endpoint]
    public let configuration: BackendPoolConfiguration
    public let replicaPool: ReplicaPool
    /// The gateway's client of this backend: every call to it goes here.
    public let client: RPCClient
    private let resolve: @Sendable ([Endpoint]) async -> [Endpoint]
    private let logger: Logger
    /// Retries, throttle refusals and replica states are counted here; `nil` counts nothing.
    public let metrics: PoolMetrics?

    public init(
        name: String,
        healthService: String,
        addresses: [Endpoint],
        configuration: BackendPoolConfiguration = .defaults,
        logger: Logger = Logger(label: "caravan.gateway.pool"),
        metrics: PoolMetrics? = nil,
        resolve: @escaping @Sendable ([Endpoint]) async -> [Endpoint] = AddressResolver.resolve,
        makeChannel: @escaping ReplicaChannelFactory
    ) {
        self.name = name
        self.healthService = healthService
        self.configured = addresses
        self.configuration = configuration
        self.resolve = resolve
        self.metrics = metrics
        var logger = logger
        logger[metadataKey: "backend"] = "\(name)"
        self.logger = logger
        // IP literals serve at once; names join when run() resolves them.
        self.replicaPool = ReplicaPool(
            name: "the \(name) service", endpoints: addresses.filter { AddressResolver.isIPLiteral($0.host) },
            configuration: configuration.replicas, makeChannel: makeChannel)
        let retryLogger = self.logger
        let observer: @Sendable (RPCClient.RetryEvent) -> Void = { event in
            switch event {
            case .retried(let method, let error):
                metrics?.retried()
                retryLogger.debug(
                    "Retrying call", metadata: ["rpc.method": "\(method.path)", "rpc.code": "\(error.code)"])
            case .throttled(let method, let error):
                metrics?.retryRefused()
                retryLogger.debug(
                    "Retry refused by the throttle", metadata: ["rpc.method": "\(method.path)", "rpc.code": "\(error.code)"])
            }
        }
        self.client = RPCClient(
            transport: self.replicaPool, retryPolicy: configuration.retryPolicy,
            retryThrottle: RetryThrottle(maxTokens: configuration.retryTokens, tokenRatio: configuration.retryTokenRatio),
            retryObserver: observer)
    }

    /// Whether any address is configured at all (an aggregate skips the
    /// sections of a backend that has none).
    public var isConfigured: Bool { !self.configured.isEmpty }

    /// The replicas and what the pool knows about them.
    public var replicas: [ReplicaBook.Replica] { self.replicaPool.replicas }

    /// Retry tokens left.
    public var retryTokens: Double { self.client.retryThrottle.tokens }

    /// Replicas ejected since the pool started.
    public var ejectionTotal: Int { self.replicaPool.ejectionTotal }

    /// Whether a call could go to a healthy, non-ejected replica now.
    public var isReady: Bool { self.replicaPool.isReady }

    // MARK: Calls (one attempt each; `client` retries)

    public func unary(descriptor: MethodDescriptor, request: [UInt8], options: ResolvedCallOptions) async throws -> [UInt8] {
        try await self.replicaPool.unary(descriptor: descriptor, request: request, options: options)
    }

    public func streaming<Result: Sendable>(
        descriptor: MethodDescriptor,
        options: ResolvedCallOptions,
        requests: @escaping @Sendable (RawMessageWriter) async throws -> Void,
        responses: (RawMessageStream) async throws -> Result
    ) async throws -> Result {
        try await self.replicaPool.streaming(
            descriptor: descriptor, options: options, requests: requests, responses: responses)
    }

    // MARK: Keeping replicas up

    /// Keeps every replica's connections up and health-watched, and
    /// re-resolves named addresses, until graceful shutdown or cancellation.
    public func run() async throws {
        await withGracefulShutdownHandler {
            await withTaskCancellationHandler {
                await withDiscardingTaskGroup { group in
                    group.addTask { await self.watchHealth() }
                    if self.configured.contains(where: { !AddressResolver.isIPLiteral($0.host) }) {
                        group.addTask { await self.resolveLoop() }
                    }
                    // Returns once the pool is closed; the watches (streams the
                    // replicas would keep open) and the resolver end with it.
                    await self.replicaPool.run()
                    group.cancelAll()
                }
            } onCancel: {
                self.shutDown()
            }
        } onGracefulShutdown: {
            self.shutDown()
        }
    }

    /// Stops: closes every replica's connections and ends `run()`.
    public func shutDown() {
        self.replicaPool.close()
    }

    /// One health watch per replica, started as replicas join; a watch ends
    /// when its replica leaves.
    private func watchHealth() async {
        await withDiscardingTaskGroup { group in
            var watched = Set<Endpoint>()
            for await endpoints in self.replicaPool.membership() {
                for endpoint in endpoints where watched.insert(endpoint).inserted {
                    group.addTask { await self.healthLoop(endpoint) }
                }
                watched.formIntersection(endpoints)
            }
        }
    }

    /// Watches the replica's health: the server pushes each change (a
    /// draining replica says NOT_SERVING before it sends GOAWAY), so calls
    /// stop going to it at once rather than at the next poll. A watch that
    /// ends after it began (replica gone, draining; keepalive ends a silent
    /// one) marks it unhealthy until a new watch says otherwise. A watch
    /// waits for the replica's connection; connection state is the pool's.
    private func healthLoop(_ endpoint: Endpoint) async {
        var wasHealthy = true
        let record: (Bool) -> Void = { healthy in
            self.replicaPool.setHealthy(endpoint, healthy)
            if healthy != wasHealthy {
                self.logger.info(healthy ? "Replica healthy" : "Replica unhealthy", metadata: ["replica": "\(endpoint)"])
                wasHealthy = healthy
            }
        }
        while !Task.isCancelled {
            guard (try? await self.replicaPool.waitUntilReady(endpoint)) != nil,
                let channel = self.replicaPool.channel(for: endpoint)
            else { return }  // the replica left, or the pool closed
            let client = HealthClient(wrapping: RPCClient(transport: channel, retryPolicy: .none))
            do {
                try await client.watch(HealthCheckRequest(service: self.healthService)) { statuses in
                    for try await response in statuses {
                        if Task.isCancelled { return }
                        record(response.status == .serving)
                    }
                }
                if Task.isCancelled { return }  // the pool is closing: no verdict
                record(false)
            } catch let error as RPCError where error.neverSent {
                continue  // no connection after all: wait for one
            } catch {
                if Task.isCancelled { return }
                record(false)
            }
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

    /// Applies a new membership. An empty answer keeps the old set, since a
    /// failed lookup is likelier than a service with no pods.
    func apply(_ endpoints: [Endpoint]) {
        guard !endpoints.isEmpty else { return }
        let (added, removed) = self.replicaPool.setEndpoints(endpoints)
        if !added.isEmpty || !removed.isEmpty {
            self.logger.info("Replicas changed", metadata: ["added": "\(added)", "removed": "\(removed)"])
        }
    }
}
