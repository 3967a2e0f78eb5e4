import CaravanCore
import CaravanGateway
import CaravanHealthAPI
import CaravanLogisticsAPI
import CaravanServiceKit
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
    }

    let endpoint: Endpoint
    private let state: Mutex<(behavior: Behavior, calls: Int)>
    private let health = Mutex<(status: HealthCheckResponse.ServingStatus, watches: [RawMessageStream.Continuation])>(
        (.serving, []))

    private let closed = AsyncStream<Never>.makeStream()

    init(_ endpoint: Endpoint, _ behavior: Behavior = .answer) {
        self.endpoint = endpoint
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
    }

    var trade: Behavior = .answer
    var logistics: Behavior = .answer
    var training: Behavior = .answer
    var configured: Set<Backend> = Set(Backend.allCases)
    let seenTimeouts = TimeoutLog()

    func isConfigured(_ backend: Backend) -> Bool { self.configured.contains(backend) }

    private func behave(_ behavior: Behavior, _ options: CallOptions) async throws {
        if let timeout = options.timeout { self.seenTimeouts.append(timeout) }
        switch behavior {
        case .answer: return
        case .fail(let code): throw RPCError(code: code, message: "backend says \(code)")
        case .stall: try await Task.sleep(for: .seconds(60))
        case .delay(let duration): try await Task.sleep(for: duration)
        }
    }

    func tradeSummary(_ request: GetSummaryRequest, options: CallOptions) async throws -> GetSummaryResponse {
        try await self.behave(self.trade, options)
        return GetSummaryResponse(
            year: request.year, country: request.country, recordedTotalUsd: 94.8e9, syntheticUsd: 1e9,
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
        try await self.behave(self.trade, options)
        let creators = Self.creators.filter { request.creatorCountry.isEmpty || $0.creatorCountry == request.creatorCountry }
        return HubStatsResponse(
            hub: "Horgos Yiwu International Trade City", newFollowers: creators.reduce(0) { $0 + $1.newFollowers },
            sessions: creators.reduce(0) { $0 + $1.sessions }, salesCny: creators.reduce(0) { $0 + $1.salesCny },
            topCreators: request.omitTopCreators ? [] : creators)
    }

    func networkStats(_ request: NetworkStatsRequest, options: CallOptions) async throws -> NetworkStatsResponse {
        try await self.behave(self.logistics, options)
        return NetworkStatsResponse(chineseCities: 128, europeanDestinations: 229, asianCities: 100, borderCrossings: 4)
    }

    func listCities(_ request: ListCitiesRequest, options: CallOptions) async throws -> ListCitiesResponse {
        try await self.behave(self.logistics, options)
        return ListCitiesResponse(cities: [
            RailCity(id: "almaty", country: request.country), RailCity(id: "khorgos", country: request.country, isBorderCrossing: true),
        ])
    }

    func listLinks(_ request: ListLinksRequest, options: CallOptions) async throws -> ListLinksResponse {
        try await self.behave(self.logistics, options)
        return ListLinksResponse(links: [
            RailLink(id: "l1", fromCityId: "almaty", toCityId: "khorgos"),
            RailLink(id: "l2", fromCityId: "khorgos", toCityId: "horgos", crossingCityId: "khorgos"),
        ])
    }

    func countShipments(_ request: CountShipmentsRequest, options: CallOptions) async throws -> CountShipmentsResponse {
        try await self.behave(self.logistics, options)
        return CountShipmentsResponse(booked: 2, inTransit: 3, delivered: 1)
    }

    func trainingStatistics(_ request: StatisticsRequest, options: CallOptions) async throws -> StatisticsResponse {
        try await self.behave(self.training, options)
        return StatisticsResponse(total: TrainingStatisticsRow(programs: 3, seats: 90, enrolled: 40, completed: 10))
    }
}

/// The timeouts backend calls were given.
final class TimeoutLog: Sendable {
    private let storage = Mutex<[Duration]>([])
    func append(_ timeout: Duration) { self.storage.withLock { $0.append(timeout) } }
    var all: [Duration] { self.storage.withLock { $0 } }
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
