import CaravanCore
import CaravanDomain
import CaravanGatewayAPI
import Logging

/// Serves `caravan.gateway.v1.Gateway`: the aggregate calls, each a
/// concurrent fan-out to the backends under the caller's deadline.
public struct GatewayProvider: GatewayServiceProtocol {
    private let fetchers: SectionFetchers
    private let fanOut: FanOut
    private let logger: Logger

    public init(
        backends: any GatewayBackends, split: DeadlineSplit = .defaults,
        logger: Logger = Logger(label: "caravan.gateway")
    ) {
        self.fetchers = SectionFetchers(backends: backends)
        self.fanOut = FanOut(split: split)
        self.logger = logger
    }

    public func countryProfile(request: CountryProfileRequest, context: ServerContext) async throws
        -> CountryProfileResponse
    {
        let country = try Self.validatedCountry(request.country)
        let year = try Self.validatedYear(request.year)
        let plan = AggregatePlan.countryProfile
        let result = await self.run(plan, context: context, country: country, year: year)
        if let error = plan.verdict(result.outcomes) { throw error }
        return CountryProfileResponse(
            country: country, year: year, trade: result.trade, logistics: result.logistics, training: result.training,
            hub: result.hub, partial: AggregatePlan.isPartial(result.outcomes), energy: result.energy)
    }

    public func partnershipOverview(
        request: PartnershipOverviewRequest, context: ServerContext
    ) async throws -> PartnershipOverviewResponse {
        let year = try Self.validatedYear(request.year)
        let plan = AggregatePlan.partnershipOverview
        let result = await self.run(plan, context: context, country: nil, year: year)
        if let error = plan.verdict(result.outcomes) { throw error }
        return PartnershipOverviewResponse(
            year: year, trade: result.trade, logistics: result.logistics, training: result.training, hub: result.hub,
            partial: AggregatePlan.isPartial(result.outcomes), energy: result.energy)
    }

    private func run(_ plan: AggregatePlan, context: ServerContext, country: String?, year: UInt32) async
        -> FanOutResult
    {
        let fetchers = self.fetchers
        let backends = fetchers.backends
        let result = await self.fanOut.run(
            plan, callerDeadline: context.deadline, isConfigured: { backends.isConfigured($0) }
        ) { section, options in
            try await fetchers.fetch(section, country: country, year: year, options: options)
        }
        let failed = result.outcomes.filter { $0.value.status != .ok }
        if !failed.isEmpty {
            self.logger.info(
                "Partial answer",
                metadata: [
                    "rpc.method": "\(context.descriptor.path)",
                    "sections": "\(failed.map { "\($0.key.rawValue)=\($0.value.status.protoName ?? "?")" }.sorted())",
                ])
        }
        return result
    }

    /// One of the five Central Asian partners, upper-cased.
    static func validatedCountry(_ code: String) throws -> String {
        let upper = code.uppercased()
        guard CountryCode.centralAsia.contains(upper) else {
            throw RPCError.invalidArgument(
                field: "country",
                "\"\(code)\" is not one of the Central Asian partners (\(CountryCode.centralAsia.joined(separator: ", ")))"
            )
        }
        return upper
    }

    /// A year the partnership has figures for (``PartnershipYears``).
    static func validatedYear(_ year: UInt32) throws -> UInt32 {
        UInt32(try PartnershipYears.validated(year, field: "year"))
    }
}
