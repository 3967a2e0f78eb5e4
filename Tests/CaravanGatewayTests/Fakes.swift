import CaravanCore
import CaravanGateway
import CaravanHealthAPI
import CaravanLogisticsAPI
import CaravanServiceKit
import CaravanTestSupport
import CaravanTradeAPI
import CaravanTrainingAPI
import Synchronization

/// A replica that answers on cue, with no sockets.
final class FakeReplica: ReplicaTransport {
    enum Behavior: Sendable {
        case answer
        /// UNAVAILABLE before sending (no connection).
        case refuse
        /// UNAVAILABLE after sending (connection lost mid-call).
        case lose
        case fail(RPCError.Code)
        case delay(Duration)
        /// Answers once the test calls ``release()``.
        case hold
    }

    private struct State: Sendable {
        var behavior: Behavior
        var calls = 0
        var released = false
    }

    let endpoint: Endpoint
    private let state: Watched<State>
    private let health = Mutex<(status: HealthCheckResponse.ServingStatus, watches: [RawMessageStream.Continuation])>(
        (.serving, []))

    private let closed = AsyncStream<Never>.makeStream()

    init(_ endpoint: Endpoint, _ behavior: Behavior = .answer) {
        self.endpoint = endpoint
        self.state = Watched(State(behavior: behavior))
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

    var calls: Int { self.state.value.calls }
    func set(_ behavior: Behavior) { self.state.update { $0.behavior = behavior } }

    /// Returns once `count` calls have reached the replica.
    func waitForCalls(_ count: Int) async throws {
        try await self.state.wait(for: "\(count) calls", until: { $0.calls >= count })
    }

    /// Lets the calls a ``Behavior/hold`` keeps waiting answer.
    func release() { self.state.update { $0.released = true } }

    func unary(descriptor: MethodDescriptor, request: [UInt8], options: ResolvedCallOptions) async throws -> [UInt8] {
        let behavior = self.state.update { state in
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
            try await self.state.wait(for: "the test to release the call", until: { $0.released })
            return Array(self.endpoint.description.utf8)
        }
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

    /// Like a real transport, runs until closed.
    func run() async {
        for await _ in self.closed.stream {}
    }

    func close() { self.closed.continuation.finish() }
}

/// A set of fake replicas and a pool over them.
struct FakePool {
    let replicas: [Endpoint: FakeReplica]
    let pool: BackendPool

    init(_ count: Int, configuration: BackendPoolConfiguration = .defaults, metrics: PoolMetrics? = nil) {
        let endpoints = (0..<count).map { Endpoint(host: "127.0.0.1", port: 7001 + 10 * $0) }
        let replicas = Dictionary(uniqueKeysWithValues: endpoints.map { ($0, FakeReplica($0)) })
        self.replicas = replicas
        self.pool = BackendPool(
            name: "trade", healthService: "caravan.trade.v1.TradeService", addresses: endpoints,
            configuration: configuration, metrics: metrics
        ) { replicas[$0]! }
    }

    subscript(_ index: Int) -> FakeReplica { self.replicas[Endpoint(host: "127.0.0.1", port: 7001 + 10 * index)]! }

    func call(idempotencyKey: String? = nil, deadline: Duration? = nil) async throws -> String {
        let options = ResolvedCallOptions(
            deadline: deadline.map { ContinuousClock.now.advanced(by: $0) }, idempotencyKey: idempotencyKey)
        let bytes = try await self.pool.unary(
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
    }

    var trade: Behavior = .answer
    var logistics: Behavior = .answer
    var training: Behavior = .answer
    var configured: Set<Backend> = Set(Backend.allCases)
    let seenTimeouts = LockedList<Duration>()

    func isConfigured(_ backend: Backend) -> Bool { self.configured.contains(backend) }

    private func behave(_ behavior: Behavior, as backend: String, _ options: CallOptions) async throws {
        if let timeout = options.timeout { self.seenTimeouts.append(timeout) }
        switch behavior {
        case .answer: return
        case .fail(let code): throw RPCError(code: code, message: "backend says \(code)")
        case .stall: try await Task.sleep(for: .seconds(60))
        case .delay(let duration): try await Task.sleep(for: duration)
        case .meet(let barrier, let delay):
            try await barrier.arrive(as: backend)
            try await Task.sleep(for: delay)
        }
    }

    func tradeSummary(_ request: GetSummaryRequest, options: CallOptions) async throws -> GetSummaryResponse {
        try await self.behave(self.trade, as: "trade", options)
        return GetSummaryResponse(
            year: request.year, country: request.country, recordedTotalUsd: 94.8e9, syntheticUsd: 1e9,
            published: PublishedFigure(year: request.year, valueUsd: 94.8e9, source: "published"))
    }

    func topCategories(_ request: TopCategoriesRequest, options: CallOptions) async throws -> TopCategoriesResponse {
        try await self.behave(self.trade, as: "trade", options)
        return TopCategoriesResponse(categories: [CategoryTotal(category: "auto parts", valueUsd: 5e9, sharePercent: 5)])
    }

    func hubStats(_ request: HubStatsRequest, options: CallOptions) async throws -> HubStatsResponse {
        try await self.behave(self.trade, as: "trade", options)
        return HubStatsResponse(
            hub: "Horgos Yiwu International Trade City", newFollowers: 10, sessions: 3, salesCny: 100,
            topCreators: [
                CreatorTotal(creator: "a", creatorCountry: "KZ", sessions: 2, newFollowers: 7, salesCny: 60),
                CreatorTotal(creator: "b", creatorCountry: "UZ", sessions: 1, newFollowers: 3, salesCny: 40),
            ])
    }

    func networkStats(_ request: NetworkStatsRequest, options: CallOptions) async throws -> NetworkStatsResponse {
        try await self.behave(self.logistics, as: "logistics", options)
        return NetworkStatsResponse(chineseCities: 128, europeanDestinations: 229, asianCities: 100, borderCrossings: 4)
    }

    func listCities(_ request: ListCitiesRequest, options: CallOptions) async throws -> ListCitiesResponse {
        try await self.behave(self.logistics, as: "logistics", options)
        return ListCitiesResponse(cities: [
            RailCity(id: "almaty", country: request.country), RailCity(id: "khorgos", country: request.country, isBorderCrossing: true),
        ])
    }

    func listLinks(_ request: ListLinksRequest, options: CallOptions) async throws -> ListLinksResponse {
        try await self.behave(self.logistics, as: "logistics", options)
        return ListLinksResponse(links: [
            RailLink(id: "l1", fromCityId: "almaty", toCityId: "khorgos"),
            RailLink(id: "l2", fromCityId: "khorgos", toCityId: "horgos", crossingCityId: "khorgos"),
        ])
    }

    func countShipments(_ request: CountShipmentsRequest, options: CallOptions) async throws -> CountShipmentsResponse {
        try await self.behave(self.logistics, as: "logistics", options)
        return CountShipmentsResponse(booked: 2, inTransit: 3, delivered: 1)
    }

    func trainingStatistics(_ request: StatisticsRequest, options: CallOptions) async throws -> StatisticsResponse {
        try await self.behave(self.training, as: "training", options)
        return StatisticsResponse(total: TrainingStatisticsRow(programs: 3, seats: 90, enrolled: 40, completed: 10))
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

/// Resolver answers handed out in turn, each only once the test allows it;
/// the last one repeats. While a lookup waits, the pool holds exactly the
/// answer before it, for the test to look at.
final class AnswerQueue: Sendable {
    private struct State: Sendable {
        var lookups = 0
        var allowed = 0
    }

    private let answers: [[Endpoint]]
    private let state = Watched(State())

    init(_ answers: [[Endpoint]]) { self.answers = answers }

    func next() async -> [Endpoint] {
        let lookup = self.state.update { state -> Int in
            state.lookups += 1
            return state.lookups
        }
        _ = try? await self.state.wait(for: "lookup \(lookup) to be allowed", until: { $0.allowed >= lookup })
        return self.answers[min(lookup, self.answers.count) - 1]
    }

    /// Lets lookups up to the `count`-th answer.
    func allow(_ count: Int) { self.state.update { $0.allowed = max($0.allowed, count) } }

    /// Returns once the `count`-th lookup has begun: every answer before it has been applied.
    func waitForLookup(_ count: Int) async throws {
        try await self.state.wait(for: "lookup \(count)", until: { $0.lookups >= count })
    }
}
