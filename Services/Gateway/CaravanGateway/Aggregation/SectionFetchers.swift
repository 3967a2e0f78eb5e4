import CaravanCore
import CaravanGatewayAPI
import CaravanLogisticsAPI
import CaravanTradeAPI
import CaravanTrainingAPI

/// Builds each section from its backend calls. `country` is nil for the
/// partnership overview. A section's own calls run concurrently too.
public struct SectionFetchers: Sendable {
    public let backends: any GatewayBackends
    /// The hub the hub section reports on.
    var hub = "horgos"
    /// Pages of a count-by-listing call before giving up (a bound on work).
    var maxPages = 20
    var pageSize: UInt32 = 500

    public init(backends: any GatewayBackends) {
        self.backends = backends
    }

    public func fetch(_ section: SectionName, country: String?, year: UInt32, options: CallOptions) async throws
        -> SectionPayload
    {
        switch section {
        case .trade: return .trade(try await self.trade(country: country, year: year, options: options))
        case .logistics: return .logistics(try await self.logistics(country: country, options: options))
        case .training: return .training(try await self.training(country: country, options: options))
        case .hub: return .hub(try await self.hub(country: country, year: year, options: options))
        }
    }

    func trade(country: String?, year: UInt32, options: CallOptions) async throws -> TradeSection {
        async let summaryCall = self.backends.tradeSummary(
            GetSummaryRequest(year: year, country: country ?? ""), options: options)
        async let topCall = self.backends.topCategories(
            TopCategoriesRequest(year: year, country: country ?? "", limit: 5), options: options)
        let (summary, top) = try await (summaryCall, topCall)
        var section = TradeSection()
        section.totalUsd = summary.recordedTotalUsd
        section.syntheticUsd = summary.syntheticUsd
        section.exportUsd = summary.exportUsd
        section.importUsd = summary.importUsd
        if let published = summary.published {
            section.hasPublishedTotal = true
            section.publishedTotalUsd = published.valueUsd
            section.publishedSource = published.source
        }
        if let change = summary.yearOnYear {
            section.hasYearOnYear = true
            section.yearOnYearPercent = change.changePercent
        }
        if country == nil, let milestone = summary.milestone {
            section.milestone = GatewayMilestone(
                targetUsd: milestone.targetUsd, valueUsd: milestone.valueUsd, percent: milestone.percent,
                remainingUsd: milestone.remainingUsd, fromPublished: milestone.basis == .published)
            section.byCountryUsd = summary.byCountryUsd
        }
        section.topCategories = top.categories.map {
            GatewayCategoryTotal(category: $0.category, valueUsd: $0.valueUsd, sharePercent: $0.sharePercent)
        }
        return section
    }

    func logistics(country: String?, options: CallOptions) async throws -> LogisticsSection {
        async let shipmentsCall = self.backends.countShipments(
            CountShipmentsRequest(country: country ?? ""), options: options)
        var section = LogisticsSection()
        if let country {
            async let linksCall = self.allLinks(country: country, options: options)
            let cities = try await self.allCities(country: country, options: options)
            section.cities = UInt32(cities.count)
            section.syntheticCities = UInt32(cities.filter(\.synthetic).count)
            section.borderCrossings = UInt32(cities.filter(\.isBorderCrossing).count)
            let links = try await linksCall
            section.railLinks = UInt32(links.count)
            section.crossBorderLinks = UInt32(links.filter { !$0.crossingCityId.isEmpty }.count)
        } else {
            let stats = try await self.backends.networkStats(NetworkStatsRequest(), options: options)
            section.cities = stats.chineseCities + stats.europeanDestinations + stats.asianCities
            section.syntheticCities = stats.syntheticCities
            section.borderCrossings = stats.borderCrossings
            section.railLinks = stats.activeLinks
            if let published = stats.published {
                section.published = GatewayNetworkFigures(
                    chineseCities: published.chineseCities?.value ?? 0,
                    europeanDestinations: published.europeanDestinations?.value ?? 0,
                    asianCities: published.asianCities?.value ?? 0,
                    asianCountries: published.asianCountries?.value ?? 0,
                    cargoCategories: published.cargoCategories?.value ?? 0,
                    varieties: published.varieties?.value ?? 0)
            }
        }
        let shipments = try await shipmentsCall
        section.shipmentsUnderWay = shipments.booked + shipments.inTransit
        section.shipmentsDelivered = shipments.delivered
        return section
    }

    func training(country: String?, options: CallOptions) async throws -> TrainingSection {
        let statistics = try await self.backends.trainingStatistics(
            StatisticsRequest(groupBy: .country, country: country ?? ""), options: options)
        let total = statistics.total ?? TrainingStatisticsRow()
        var section = TrainingSection()
        section.programs = total.programs
        section.syntheticPrograms = total.syntheticPrograms
        section.seats = total.seats
        section.enrolled = total.enrolled
        section.waitlisted = total.waitlisted
        section.completed = total.completed
        section.completionRate = total.completionRate
        return section
    }

    func hub(country: String?, year: UInt32, options: CallOptions) async throws -> HubSection {
        let stats = try await self.backends.hubStats(
            HubStatsRequest(
                hub: self.hub, fromUnixSeconds: Self.startOfYear(year), toUnixSeconds: Self.startOfYear(year + 1),
                topCreatorsLimit: country == nil ? 10 : 1000),
            options: options)
        var section = HubSection()
        section.hub = stats.hub
        section.cnyUsdRate = stats.cnyUsdRate?.rate ?? 0
        if let country {
            // Sessions by that country's creators; the service lists creators, not sessions by country.
            let creators = stats.topCreators.filter { $0.creatorCountry == country }
            section.sessions = creators.reduce(0) { $0 + $1.sessions }
            section.syntheticSessions = creators.filter(\.synthetic).reduce(0) { $0 + $1.sessions }
            section.newFollowers = creators.reduce(0) { $0 + $1.newFollowers }
            section.salesCny = creators.reduce(0) { $0 + $1.salesCny }
            section.salesUsd = creators.reduce(0) { $0 + $1.salesUsd }
        } else {
            section.sessions = stats.sessions
            section.syntheticSessions = stats.syntheticSessions
            section.newFollowers = stats.newFollowers
            section.salesCny = stats.salesCny
            section.salesUsd = stats.salesUsd
            if let published = stats.published {
                section.publishedFollowers = published.followers
                section.publishedSalesCny = published.salesCny
                section.publishedSalesUsd = published.salesUsd
            }
        }
        return section
    }

    private func allCities(country: String, options: CallOptions) async throws -> [RailCity] {
        var cities: [RailCity] = []
        var token = ""
        for _ in 0..<self.maxPages {
            let page = try await self.backends.listCities(
                ListCitiesRequest(country: country, pageSize: self.pageSize, pageToken: token), options: options)
            cities += page.cities
            token = page.nextPageToken
            if token.isEmpty { break }
        }
        return cities
    }

    /// Active links with an end in `country` or crossing its border: the routes through it.
    private func allLinks(country: String, options: CallOptions) async throws -> [RailLink] {
        var links: [RailLink] = []
        var token = ""
        for _ in 0..<self.maxPages {
            let page = try await self.backends.listLinks(
                ListLinksRequest(pageSize: self.pageSize, pageToken: token, country: country), options: options)
            links += page.links
            token = page.nextPageToken
            if token.isEmpty { break }
        }
        return links
    }

    /// 1 January of `year`, 00:00 UTC, in Unix seconds.
    public static func startOfYear(_ year: UInt32) -> Int64 {
        // Days from 1970-01-01 to 1 January of `year` (Gregorian).
        let y = Int64(year) - 1
        let days = 365 * (y - 1969) + (y / 4 - 1969 / 4) - (y / 100 - 1969 / 100) + (y / 400 - 1969 / 400)
        return days * 86_400
    }
}
