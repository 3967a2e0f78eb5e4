import CaravanCore
import CaravanLogisticsAPI
import CaravanTradeAPI
import CaravanTrainingAPI

/// The backend calls the aggregates make. The real one goes through the
/// pools; tests hand in fakes that answer, fail or stall on cue.
public protocol GatewayBackends: Sendable {
    /// Whether any replica of `backend` is configured.
    func isConfigured(_ backend: Backend) -> Bool
    func tradeSummary(_ request: GetSummaryRequest, options: CallOptions) async throws -> GetSummaryResponse
    func hubStats(_ request: HubStatsRequest, options: CallOptions) async throws -> HubStatsResponse
    func energyProjects(_ request: ListEnergyProjectsRequest, options: CallOptions) async throws
        -> ListEnergyProjectsResponse
    func networkStats(_ request: NetworkStatsRequest, options: CallOptions) async throws -> NetworkStatsResponse
    func listCities(_ request: ListCitiesRequest, options: CallOptions) async throws -> ListCitiesResponse
    func listLinks(_ request: ListLinksRequest, options: CallOptions) async throws -> ListLinksResponse
    func countShipments(_ request: CountShipmentsRequest, options: CallOptions) async throws -> CountShipmentsResponse
    func trainingStatistics(_ request: StatisticsRequest, options: CallOptions) async throws -> StatisticsResponse
}

/// ``GatewayBackends`` over the services' generated clients.
public struct ClientBackends: GatewayBackends {
    public let trade: TradeServiceClient
    public let logistics: LogisticsServiceClient
    public let training: TrainingServiceClient
    private let configured: Set<Backend>

    public init(trade: RPCClient, logistics: RPCClient, training: RPCClient, configured: Set<Backend>) {
        self.trade = TradeServiceClient(wrapping: trade)
        self.logistics = LogisticsServiceClient(wrapping: logistics)
        self.training = TrainingServiceClient(wrapping: training)
        self.configured = configured
    }

    public func isConfigured(_ backend: Backend) -> Bool { self.configured.contains(backend) }

    public func tradeSummary(_ request: GetSummaryRequest, options: CallOptions) async throws -> GetSummaryResponse {
        try await self.trade.getSummary(request, options: options)
    }

    public func hubStats(_ request: HubStatsRequest, options: CallOptions) async throws -> HubStatsResponse {
        try await self.trade.hubStats(request, options: options)
    }

    public func energyProjects(_ request: ListEnergyProjectsRequest, options: CallOptions) async throws
        -> ListEnergyProjectsResponse
    {
        try await self.trade.listEnergyProjects(request, options: options)
    }

    public func networkStats(_ request: NetworkStatsRequest, options: CallOptions) async throws -> NetworkStatsResponse
    {
        try await self.logistics.networkStats(request, options: options)
    }

    public func listCities(_ request: ListCitiesRequest, options: CallOptions) async throws -> ListCitiesResponse {
        try await self.logistics.listCities(request, options: options)
    }

    public func listLinks(_ request: ListLinksRequest, options: CallOptions) async throws -> ListLinksResponse {
        try await self.logistics.listLinks(request, options: options)
    }

    public func countShipments(_ request: CountShipmentsRequest, options: CallOptions) async throws
        -> CountShipmentsResponse
    {
        try await self.logistics.countShipments(request, options: options)
    }

    public func trainingStatistics(_ request: StatisticsRequest, options: CallOptions) async throws
        -> StatisticsResponse
    {
        try await self.training.statistics(request, options: options)
    }
}
