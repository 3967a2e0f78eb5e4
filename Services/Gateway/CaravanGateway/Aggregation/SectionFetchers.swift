import CaravanCore
import CaravanDomain
import CaravanGatewayAPI
import CaravanLogisticsAPI
import CaravanTradeAPI
import CaravanTrainingAPI

/// Builds each section from its backend calls. `country` is nil for the
/// partnership overview. A section's own calls run concurrently too, and
/// each asks the backend only for what the section shows: the categories
/// come with the summary, the hub's totals without its top creators.
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
        case .energy: return .energy(try await self.energy(country: country, options: options))
        }
    }

    /// Categories a trade section lists.
    static let topCategories = 5

    func trade(country: String?, year: UInt32, options: CallOptions) async throws -> TradeSection {
        let summary = try await self.backends.tradeSummary(
            GetSummaryRequest(year: year, country: country ?? ""), options: options)
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
        section.topCategories = Self.largestCategories(summary, count: Self.topCategories)
        if summary.flowCount == 0 && summary.published == nil {
            section.noData = true
            section.noDataMessage = NoDataMessage.trade(country: country, year: year)
        }
        return section
    }

    /// The summary's largest categories, by value (ties by name), each with
    /// its share of the recorded total — what TopCategories would answer,
    /// taken from the grouping the summary already carries.
    static func largestCategories(_ summary: GetSummaryResponse, count: Int) -> [GatewayCategoryTotal] {
        let total = summary.recordedTotalUsd
        return summary.byCategoryUsd
            .sorted { ($0.value, $1.key) > ($1.value, $0.key) }
            .prefix(count)
            .map {
                GatewayCategoryTotal(
                    category: $0.key, valueUsd: $0.value, sharePercent: total > 0 ? $0.value * 100 / total : 0)
            }
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
        if section.cities == 0 && section.railLinks == 0 && section.shipmentsUnderWay == 0
            && section.shipmentsDelivered == 0
        {
            section.noData = true
            section.noDataMessage = NoDataMessage.logistics(country: country)
        }
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
        if section.programs == 0 {
            section.noData = true
            section.noDataMessage = NoDataMessage.training(country: country)
        }
        return section
    }

    func hub(country: String?, year: UInt32, options: CallOptions) async throws -> HubSection {
        // For a country, the sessions of that country's creators: the
        // service sums them itself.
        let stats = try await self.backends.hubStats(
            HubStatsRequest(
                hub: self.hub, fromUnixSeconds: UTCCalendar.startOfYear(Int64(year)),
                toUnixSeconds: UTCCalendar.startOfYear(Int64(year) + 1), omitTopCreators: true,
                creatorCountry: country ?? ""),
            options: options)
        var section = HubSection()
        section.hub = stats.hub
        section.cnyUsdRate = stats.cnyUsdRate?.rate ?? 0
        section.sessions = stats.sessions
        section.syntheticSessions = stats.syntheticSessions
        section.newFollowers = stats.newFollowers
        section.salesCny = stats.salesCny
        section.salesUsd = stats.salesUsd
        if country == nil {
            if let published = stats.published {
                section.publishedFollowers = published.followers
                section.publishedSalesCny = published.salesCny
                section.publishedSalesUsd = published.salesUsd
            }
        }
        if section.sessions == 0 && section.publishedFollowers == 0 && section.publishedSalesCny == 0 {
            section.noData = true
            section.noDataMessage = NoDataMessage.hub(country: country, year: year)
        }
        return section
    }

    func energy(country: String?, options: CallOptions) async throws -> EnergySection {
        let answer = try await self.backends.energyProjects(
            ListEnergyProjectsRequest(country: country ?? ""), options: options)
        var section = EnergySection()
        section.projects = answer.projects.map(GatewayEnergyProject.init(summarising:))
        if section.projects.isEmpty {
            section.noData = true
            section.noDataMessage = NoDataMessage.energy(country: country)
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
}
