import CaravanCore
import CaravanGateway
import CaravanHealthAPI
import CaravanLogisticsAPI
import CaravanServiceKit
import CaravanTestSupport
import CaravanTradeAPI
import CaravanTrainingAPI
import Synchronization

/// A replica that answers on cue, with no sockets: a ``ReplicaChannel``
/// whose connection is ready from the moment the pool runs it.
final class FakeReplica: ReplicaChannel {
    enum Behavior: Sendable {
        case answer
        /// UNAVAILABLE before sending (the connection went away as the call left).
        case refuse
        /// UNAVAILABLE after sending (connection lost mid-call).
        case lose
        case fail(RPCError.Code)
        case delay(Duration)
        /// Waits for ``release()``.
        case hold
    }

    let endpoint: Endpoint
    private let held = Mutex<(calls: [CheckedContinuation<Void, Never>], watchers: [CheckedContinuation<Void, Never>])>(
        ([], []))
    private let readinessChanged: @Sendable (ReplicaReadiness) -> Void
    private let state: Mutex<(behavior: Behavior, calls: Int)>
    private let health = Mutex<(status: HealthCheckResponse.ServingStatus, watches: [RawMessageStream.Continuation])>(
        (.serving, []))
    private let closed = AsyncStream<Never>.makeStream()

    init(
        _ endpoint: Endpoint, _ behavior: Behavior = .answer,
        readinessChanged: @escaping @Sendable (ReplicaReadiness) -> Void = { _ in }
    ) {
        self.endpoint = endpoint
        self.readinessChanged = readinessChanged
        self.state = Mutex((behavior, 0))
    }

    /// Changes the status the replica's health watches report.
    func setHealth(_ status: HealthCheckResponse.ServingStatus) {
        let watches = self.health.withLock { health in
            health.status = status
            return health.watches
        }
        for watch in watches { watch.yield(try! HealthCheckResponse(status: status).serializedBytes()) }
    }

    /// Ends every open health watch, as a draining server does.
    func endHealthWatches() {
        let watches = self.health.withLock { health in
            defer { health.watches = [] }
            return health.watches
        }
        for watch in watches { watch.finish() }
    }

    /// Reports a readiness to the pool, as a connection's state changes.
    func report(_ readiness: ReplicaReadiness) { self.readinessChanged(readiness) }

    var calls: Int { self.state.withLock { $0.calls } }
    func set(_ behavior: Behavior) { self.state.withLock { $0.behavior = behavior } }

    func unary(descriptor: MethodDescriptor, request: [UInt8], options: ResolvedCallOptions) async throws -> [UInt8] {
        let behavior = self.state.withLock { state in
            state.calls += 1
            return state.behavior
        }
        switch behavior {
        case .answer: return Array(self.endpoint.description.utf8)
        case .refuse: throw RPCError(code: .unavailable, message: "refused", cause: CallNeverSent("refused"))
        case .lose: throw RPCError(code: .unavailable, message: "The connection to the server was lost.")
        case .fail(let code): throw RPCError(code: code, message: "failed")
        case .delay(let duration):
            try await Task.sleep(for: duration)
            return Array(self.endpoint.description.utf8)
        case .hold:
            await withCheckedContinuation { continuation in
                let watchers = self.held.withLock { held in
                    held.calls.append(continuation)
                    defer { held.watchers = [] }
                    return held.watchers
                }
                for watcher in watchers { watcher.resume() }
            }
            return Array(self.endpoint.description.utf8)
        }
    }

    /// Returns once `count` calls are held.
    func waitUntilHolding(_ count: Int) async {
        while self.held.withLock({ $0.calls.count }) < count {
            await withCheckedContinuation { continuation in
                let enough = self.held.withLock { held -> Bool in
                    if held.calls.count >= count { return true }
                    held.watchers.append(continuation)
                    return false
                }
                if enough { continuation.resume() }
            }
        }
    }

    /// Lets every held call answer.
    func release() {
        let calls = self.held.withLock { held in
            defer { held.calls = [] }
            return held.calls
        }
        for call in calls { call.resume() }
    }

    func streaming<Result: Sendable>(
        descriptor: MethodDescriptor, options: ResolvedCallOptions,
        requests: @escaping @Sendable (RawMessageWriter) async throws -> Void,
        responses: (RawMessageStream) async throws -> Result
    ) async throws -> Result {
        guard descriptor == Health.Method.watch else { throw RPCError(code: .unimplemented, message: "fake") }
        let (stream, continuation) = RawMessageStream.makeStream()
        self.health.withLock { health in
            health.watches.append(continuation)
            continuation.yield(try! HealthCheckResponse(status: health.status).serializedBytes())
        }
        return try await responses(stream)
    }

    /// Like a real channel: ready once running, until closed.
    func run() async {
        self.readinessChanged(.ready)
        for await _ in self.closed.stream {}
    }

    func close() { self.closed.continuation.finish() }
    func connect() {}
}

/// The fake replicas a pool made, by endpoint.
final class FakeReplicas: Sendable {
    private let storage = Mutex<[Endpoint: FakeReplica]>([:])
    func add(_ replica: FakeReplica) { self.storage.withLock { $0[replica.endpoint] = replica } }
    subscript(_ endpoint: Endpoint) -> FakeReplica? { self.storage.withLock { $0[endpoint] } }
}

/// A set of fake replicas and a pool over them.
struct FakePool {
    let replicas = FakeReplicas()
    let pool: BackendPool
    let endpoints: [Endpoint]

    init(_ count: Int, configuration: BackendPoolConfiguration = .defaults, metrics: PoolMetrics? = nil) {
        let endpoints = (0..<count).map { Endpoint(host: "127.0.0.1", port: 7001 + 10 * $0) }
        let replicas = self.replicas
        self.endpoints = endpoints
        self.pool = BackendPool(
            name: "trade", healthService: "caravan.trade.v1.TradeService", addresses: endpoints,
            configuration: configuration, metrics: metrics
        ) { endpoint, readinessChanged in
            let replica = FakeReplica(endpoint, readinessChanged: readinessChanged)
            replicas.add(replica)
            return replica
        }
    }

    subscript(_ index: Int) -> FakeReplica {
        self.replicas[Endpoint(host: "127.0.0.1", port: 7001 + 10 * index)]!
    }

    /// Runs the pool, with every replica ready, around `body`.
    func running(_ body: () async throws -> Void) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.pool.run() }
            defer { self.pool.shutDown() }
            for endpoint in self.endpoints { try await self.pool.replicaPool.waitUntilReady(endpoint) }
            try await body()
        }
    }

    /// A call through the backend's client: one attempt per replica pick,
    /// retried as the rules allow.
    func call(idempotencyKey: String? = nil, deadline: Duration? = nil) async throws -> String {
        let options = CallOptions(
            deadline: deadline.map { ContinuousClock.now.advanced(by: $0) }, idempotencyKey: idempotencyKey)
        let bytes = try await self.pool.client.unary(
            descriptor: MethodDescriptor(service: "caravan.trade.v1.TradeService", method: "GetSummary"), request: [],
            options: options)
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// Backends whose answers, failures and delays a test sets per backend.
struct FakeBackends: GatewayBackends {
    enum Behavior: Sendable {
        case answer
        case fail(RPCError.Code)
        case stall
        case delay(Duration)
        /// Waits at `barrier` until a call to each of its backends has
        /// reached it (so a fan-out that called the backends one after
        /// another never finishes), then answers after `delay`.
        case meet(Barrier, then: Duration)
        /// Waits at `gate` until the test opens it, then answers.
        case hold(Gate)
    }

    var trade: Behavior = .answer
    var logistics: Behavior = .answer
    var training: Behavior = .answer
    var configured: Set<Backend> = Set(Backend.allCases)
    /// True: every backend answers OK with nothing in it (no flows, no
    /// published figure, no cities, programs, sessions or projects).
    var empty = false
    let seenTimeouts = LockedList<Duration>()

    func isConfigured(_ backend: Backend) -> Bool { self.configured.contains(backend) }

    private func behave(_ behavior: Behavior, as backend: String, _ options: CallOptions) async throws {
        if let deadline = options.deadline(startingAt: .now) {
            self.seenTimeouts.append(ContinuousClock.now.duration(to: deadline))
        }
        switch behavior {
        case .answer: return
        case .fail(let code): throw RPCError(code: code, message: "backend says \(code)")
        case .stall: try await Task.sleep(for: .seconds(60))
        case .delay(let duration): try await Task.sleep(for: duration)
        case .meet(let barrier, let delay):
            try await barrier.arrive(as: backend)
            try await Task.sleep(for: delay)
        case .hold(let gate):
            try await gate.pass()
        }
    }

    func tradeSummary(_ request: GetSummaryRequest, options: CallOptions) async throws -> GetSummaryResponse {
        try await self.behave(self.trade, as: "trade", options)
        if self.empty { return GetSummaryResponse(year: request.year, country: request.country) }
        return GetSummaryResponse(
            year: request.year, country: request.country, recordedTotalUsd: 94.8e9, syntheticUsd: 1e9, flowCount: 2,
            byCategoryUsd: ["auto parts": 5e9, "cotton": 1e9],
            published: PublishedFigure(year: request.year, valueUsd: 94.8e9, source: "published"))
    }

    /// The hub's sessions by creator; the totals answered are theirs, of the
    /// creators from `creator_country` when the request names one.
    static let creators = [
        CreatorTotal(creator: "a", creatorCountry: "KZ", sessions: 2, newFollowers: 7, salesCny: 60),
        CreatorTotal(creator: "b", creatorCountry: "UZ", sessions: 1, newFollowers: 3, salesCny: 40),
    ]

    func hubStats(_ request: HubStatsRequest, options: CallOptions) async throws -> HubStatsResponse {
        try await self.behave(self.trade, as: "trade", options)
        let creators = Self.creators.filter {
            !self.empty && (request.creatorCountry.isEmpty || $0.creatorCountry == request.creatorCountry)
        }
        return HubStatsResponse(
            hub: "Horgos Yiwu International Trade City", newFollowers: creators.reduce(0) { $0 + $1.newFollowers },
            sessions: creators.reduce(0) { $0 + $1.sessions }, salesCny: creators.reduce(0) { $0 + $1.salesCny },
            topCreators: request.omitTopCreators ? [] : creators)
    }

    static let energyProjects = [
        EnergyProject(id: "w", name: "A wind farm", country: "KZ", kind: .wind, status: .notPublished, source: "s"),
        EnergyProject(
            id: "n", name: "A nuclear plant", country: "KZ", kind: .nuclear, status: .underConsideration,
            capacityMw: 1_000, chinesePartner: "a corporation", source: "s"),
        EnergyProject(id: "t", name: "Turbines", country: "UZ", kind: .equipmentTrade, status: .ongoing, source: "s"),
    ]

    func energyProjects(_ request: ListEnergyProjectsRequest, options: CallOptions) async throws
        -> ListEnergyProjectsResponse
    {
        try await self.behave(self.trade, as: "trade", options)
        return ListEnergyProjectsResponse(
            projects: Self.energyProjects.filter {
                !self.empty && (request.country.isEmpty || $0.country == request.country)
            })
    }

    func networkStats(_ request: NetworkStatsRequest, options: CallOptions) async throws -> NetworkStatsResponse {
        try await self.behave(self.logistics, as: "logistics", options)
        return NetworkStatsResponse(chineseCities: 128, europeanDestinations: 229, asianCities: 100, borderCrossings: 4)
    }

    func listCities(_ request: ListCitiesRequest, options: CallOptions) async throws -> ListCitiesResponse {
        try await self.behave(self.logistics, as: "logistics", options)
        if self.empty { return ListCitiesResponse() }
        return ListCitiesResponse(cities: [
            RailCity(id: "almaty", country: request.country),
            RailCity(id: "khorgos", country: request.country, isBorderCrossing: true),
        ])
    }

    func listLinks(_ request: ListLinksRequest, options: CallOptions) async throws -> ListLinksResponse {
        try await self.behave(self.logistics, as: "logistics", options)
        if self.empty { return ListLinksResponse() }
        return ListLinksResponse(links: [
            RailLink(id: "l1", fromCityId: "almaty", toCityId: "khorgos"),
            RailLink(id: "l2", fromCityId: "khorgos", toCityId: "horgos", crossingCityId: "khorgos"),
        ])
    }

    func countShipments(_ request: CountShipmentsRequest, options: CallOptions) async throws -> CountShipmentsResponse {
        try await self.behave(self.logistics, as: "logistics", options)
        return self.empty ? CountShipmentsResponse() : CountShipmentsResponse(booked: 2, inTransit: 3, delivered: 1)
    }

    func trainingStatistics(_ request: StatisticsRequest, options: CallOptions) async throws -> StatisticsResponse {
        try await self.behave(self.training, as: "training", options)
        return StatisticsResponse(
            total: self.empty
                ? TrainingStatisticsRow() : TrainingStatisticsRow(programs: 3, seats: 90, enrolled: 40, completed: 10))
    }
}

/// A meeting point: a call waits at it until a call from each of `parties` has arrived.
final class Barrier: Sendable {
    let parties: Set<String>
    private let arrived = Watched(Set<String>())

    init(parties: Set<String>) { self.parties = parties }

    func arrive(as party: String) async throws {
        self.arrived.update { _ = $0.insert(party) }
        try await self.arrived.wait(for: "calls from \(self.parties.sorted())", until: { [parties] in $0 == parties })
    }
}

/// Holds the calls that reach it until the test opens it; the test can
/// wait until a call is held.
final class Gate: Sendable {
    private let state = Watched((held: 0, open: false))

    func pass() async throws {
        self.state.update { $0.held += 1 }
        try await self.state.wait(for: "the gate to open", until: { $0.open })
    }

    /// Returns once `count` calls have reached the gate.
    func held(_ count: Int = 1) async throws {
        try await self.state.wait(for: "\(count) calls at the gate", until: { $0.held >= count })
    }

    func open() { self.state.update { $0.open = true } }
}

/// A transport that records the options of each call and echoes: unary
/// requests come back reversed, stream requests come back as responses.
final class RecordingTransport: ClientTransport {
    private let storage = Mutex<[ResolvedCallOptions]>([])
    var seen: [ResolvedCallOptions] { self.storage.withLock { $0 } }

    func unary(descriptor: MethodDescriptor, request: [UInt8], options: ResolvedCallOptions) async throws -> [UInt8] {
        self.storage.withLock { $0.append(options) }
        return request.reversed()
    }

    func streaming<Result: Sendable>(
        descriptor: MethodDescriptor, options: ResolvedCallOptions,
        requests: @escaping @Sendable (RawMessageWriter) async throws -> Void,
        responses: (RawMessageStream) async throws -> Result
    ) async throws -> Result {
        self.storage.withLock { $0.append(options) }
        let (stream, continuation) = RawMessageStream.makeStream()
        try await requests(RawMessageWriter { continuation.yield($0) })
        continuation.finish()
        return try await responses(stream)
    }
}

/// Messages a server-side writer was given.
final class WrittenMessages: Sendable {
    private let storage = Mutex<[[UInt8]]>([])
    var writer: RawMessageWriter { RawMessageWriter { bytes in self.storage.withLock { $0.append(bytes) } } }
    var all: [[UInt8]] { self.storage.withLock { $0 } }
}

/// Resolver answers handed out in turn; the last one repeats.
final class AnswerQueue: Sendable {
    private let storage: Mutex<[[Endpoint]]>
    init(_ answers: [[Endpoint]]) { self.storage = Mutex(answers) }
    func next() -> [Endpoint] {
        self.storage.withLock { answers in answers.count > 1 ? answers.removeFirst() : answers[0] }
    }
}
