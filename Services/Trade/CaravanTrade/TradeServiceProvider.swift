import CaravanCore
import CaravanDomain
import CaravanTradeAPI
import Foundation
import Logging

/// `caravan.trade.v1.TradeService`: validates each request, runs each
/// write's ``TradeWorkflow`` in one store transaction, and answers reads
/// (flows, summaries, the hub, the energy projects) from the ``TradeStore``.
///
/// (Named `TradeServiceProvider`, as training names its own, because the generated API module already has a
/// `TradeService` namespace; two types of one name would make every file
/// importing both modules ambiguous.)
public struct TradeServiceProvider: TradeServiceProtocol {
    /// Limits and defaults of the trade service.
    public struct Configuration: Sendable {
        public var defaultPageSize = 100
        public var maxPageSize = 1000
        /// Flows read per store query while streaming.
        public var streamBatchSize = 500
        public var defaultTopCategories = 10
        public var maxTopCategories = 100
        public var defaultTopCreators = 10
        public var maxTopCreators = 100
        /// The clock validation uses (the current year, session times).
        public var now: @Sendable () -> Date = { Date() }

        public init() {}

        public static var defaults: Configuration { Configuration() }
    }

    let store: any TradeStore
    let configuration: Configuration
    let logger: Logger
    /// Flows recorded through this provider, for ``watchFlows``.
    public let recordedFlows = LiveFeed<TradeFlow>()

    public init(
        store: any TradeStore, configuration: Configuration = .defaults, logger: Logger = Logger(label: "caravan.trade")
    ) {
        self.store = store
        self.configuration = configuration
        self.logger = logger
    }

    /// The validation rules as of now (the current year moves on).
    var validation: TradeValidation {
        let now = self.configuration.now()
        return TradeValidation(currentYear: PartnershipYears.current(now: now), nowUnixSeconds: now.unixSeconds)
    }

    /// Maps storage failures to statuses, once for every call.
    var storage: StorageCall { StorageCall(logger: self.logger) }

    // MARK: Flows

    public func recordFlow(request: RecordFlowRequest, context: ServerContext) async throws -> RecordFlowResponse {
        let flow = try self.validation.flow(request.flow)
        let write = try IdempotentWrite(request, context: context)
        let now = self.configuration.now().unixSeconds
        let response = try await self.storage {
            try await self.store.write { try await TradeWorkflow.recordFlow(flow, write: write, now: now, in: $0) }
        }
        self.logger.debug(
            "Recorded a trade flow",
            metadata: ["flow.id": "\(response.flow?.id ?? "")", "rpc.idempotency_key": "\(write.key ?? "")"])
        if let stored = response.flow { self.recordedFlows.publish(stored) }
        return response
    }

    public func watchFlows(
        request: WatchFlowsRequest, response: RPCWriter<WatchFlowsResponse>, context: ServerContext
    ) async throws {
        let country = try self.validation.optionalPartner(request.country, field: "country")
        try await self.recordedFlows.watch {
            try await response.write(WatchFlowsResponse(created: true))
        } _: { flow in
            if country == nil || flow.country == country {
                try await response.write(WatchFlowsResponse(flow: flow))
            }
        }
    }

    public func getFlow(request: GetFlowRequest, context: ServerContext) async throws -> GetFlowResponse {
        guard !request.id.isEmpty else { throw RPCError.invalidArgument(field: "id", "is required") }
        guard let id = Int64(request.id), id > 0,
            let flow = try await self.storage({ try await self.store.flow(id: id) })
        else {
            throw TradeError.flowNotFound(request.id)
        }
        return GetFlowResponse(flow: flow)
    }

    public func listFlows(request: ListFlowsRequest, context: ServerContext) async throws -> ListFlowsResponse {
        let query = try self.validation.query(request.filter)
        let cursor = try FlowCursor.decode(request.pageToken, for: query)
        let pageSize =
            request.pageSize == 0
            ? self.configuration.defaultPageSize : min(Int(request.pageSize), self.configuration.maxPageSize)
        // One row more than the page tells whether another page follows,
        // so the last page never hands out a token leading to nothing.
        var flows = try await self.storage {
            try await self.store.flows(matching: query, after: cursor, limit: pageSize + 1)
        }
        var response = ListFlowsResponse()
        if flows.count > pageSize {
            flows.removeLast(flows.count - pageSize)
            if let last = flows.last, let next = FlowCursor(after: last) {
                response.nextPageToken = next.token(for: query)
            }
        }
        response.flows = flows
        return response
    }

    public func streamFlows(
        request: StreamFlowsRequest,
        response: RPCWriter<StreamFlowsResponse>,
        context: ServerContext
    ) async throws {
        let query = try self.validation.query(request.filter)
        let batch = self.configuration.streamBatchSize
        // Keyset batches: memory stays bounded however many flows match, and
        // each read is short, so writers are never held up by an export.
        var cursor: FlowCursor?
        while true {
            try Task.checkCancellation()
            let flows = try await self.storage {
                try await self.store.flows(matching: query, after: cursor, limit: batch)
            }
            for flow in flows { try await response.write(StreamFlowsResponse(flow: flow)) }
            guard flows.count == batch, let last = flows.last, let next = FlowCursor(after: last) else { return }
            cursor = next
        }
    }

    // MARK: Summaries

    public func getSummary(request: GetSummaryRequest, context: ServerContext) async throws -> GetSummaryResponse {
        let validation = self.validation
        let year = try validation.year(request.year, field: "year")
        let country = try validation.optionalPartner(request.country, field: "country")
        let figures = try await self.storage { try await self.store.summaryFigures(year: year, country: country) }
        return TradeSummaryBuilder.summary(year: year, country: country, figures: figures)
    }

    public func topCategories(request: TopCategoriesRequest, context: ServerContext) async throws
        -> TopCategoriesResponse
    {
        let validation = self.validation
        let year = try validation.year(request.year, field: "year")
        let country = try validation.optionalPartner(request.country, field: "country")
        let limit =
            request.limit == 0
            ? self.configuration.defaultTopCategories : min(Int(request.limit), self.configuration.maxTopCategories)
        let totals = try await self.storage { try await self.store.flowTotals(year: year, country: country) }
        return TopCategoriesResponse(categories: Array(TradeSummaryBuilder.categories(totals).prefix(limit)))
    }

    // MARK: The Horgos hub

    public func recordStreamSession(
        request: RecordStreamSessionRequest,
        context: ServerContext
    ) async throws -> RecordStreamSessionResponse {
        let session = try self.validation.session(request.session)
        let write = try IdempotentWrite(request, context: context)
        let now = self.configuration.now().unixSeconds
        let response = try await self.storage {
            try await self.store.write {
                try await TradeWorkflow.recordSession(session, write: write, now: now, in: $0)
            }
        }
        self.logger.debug("Recorded a live-stream session", metadata: ["session.id": "\(response.session?.id ?? "")"])
        return response
    }

    public func hubStats(request: HubStatsRequest, context: ServerContext) async throws -> HubStatsResponse {
        let hub = try TradeValidation.text(request.hub, field: "hub")
        guard request.fromUnixSeconds >= 0 else {
            throw RPCError.invalidArgument(field: "from_unix_seconds", "must not be negative")
        }
        guard request.toUnixSeconds >= 0 else {
            throw RPCError.invalidArgument(field: "to_unix_seconds", "must not be negative")
        }
        let upper = request.toUnixSeconds == 0 ? Int64.max : request.toUnixSeconds
        guard request.fromUnixSeconds < upper else {
            throw RPCError.invalidArgument(field: "to_unix_seconds", "must be after from_unix_seconds")
        }
        let limit =
            request.omitTopCreators
            ? 0
            : request.topCreatorsLimit == 0
                ? self.configuration.defaultTopCreators
                : min(Int(request.topCreatorsLimit), self.configuration.maxTopCreators)
        let creatorCountry =
            request.creatorCountry.isEmpty
            ? nil : try CountryCode.validated(request.creatorCountry, field: "creator_country")
        let (activity, rate) = try await self.storage {
            (
                try await self.store.hubActivity(
                    hub: hub, period: request.fromUnixSeconds..<upper, topCreators: limit,
                    creatorCountry: creatorCountry),
                try await self.store.exchangeRate(base: "CNY", quote: "USD")
            )
        }
        guard let rate else {
            throw RPCError(
                code: .failedPrecondition, message: "No CNY→USD exchange rate is recorded; sales cannot be converted.")
        }
        var response = HubStatsResponse()
        response.hub = activity.hub
        response.fromUnixSeconds = request.fromUnixSeconds
        response.toUnixSeconds = request.toUnixSeconds
        response.newFollowers = activity.newFollowers
        response.sessions = activity.sessions
        response.syntheticSessions = activity.syntheticSessions
        response.salesCny = activity.salesCNY
        response.salesUsd = activity.salesCNY * rate.rate
        response.cnyUsdRate = rate
        response.topCreators = activity.topCreators.map { creator in
            var creator = creator
            creator.salesUsd = creator.salesCny * rate.rate
            return creator
        }
        response.published = activity.published
        return response
    }

    // MARK: Energy cooperation

    public func listEnergyProjects(request: ListEnergyProjectsRequest, context: ServerContext) async throws
        -> ListEnergyProjectsResponse
    {
        let country = try self.validation.optionalPartner(request.country, field: "country")
        let projects = try await self.storage { try await self.store.energyProjects(country: country) }
        return ListEnergyProjectsResponse(projects: projects)
    }
}

extension RecordFlowRequest: IdempotentRequest {}
extension RecordStreamSessionRequest: IdempotentRequest {}
