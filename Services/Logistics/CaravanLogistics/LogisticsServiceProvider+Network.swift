import CaravanCore
import CaravanDomain
import CaravanLogisticsAPI
import Logging

extension LogisticsServiceProvider {
    public func listCities(request: ListCitiesRequest, context: ServerContext) async throws -> ListCitiesResponse {
        let country = request.country.isEmpty ? "" : try CountryCode.validated(request.country, field: "country")
        let filter = "cities|\(country)|\(request.region.rawValue)|\(request.borderCrossingsOnly)"
        let after = try PageToken.decode(request.pageToken, filter: filter)?.lastKey ?? -1
        let limit = Self.pageSize(request.pageSize, defaultSize: 100, maxSize: 1_000)
        let snapshot = try await self.snapshot()
        var response = ListCitiesResponse()
        var index = Int(max(after + 1, 0))
        while index < snapshot.cities.count {
            let city = snapshot.cities[index]
            if (country.isEmpty || city.country == country)
                && (request.region == .unspecified || city.region == request.region)
                && (!request.borderCrossingsOnly || city.isBorderCrossing)
            {
                if response.cities.count == limit {
                    response.nextPageToken = PageToken(lastKey: Int64(index - 1)).encode(filter: filter)
                    break
                }
                response.cities.append(city)
            }
            index += 1
        }
        return response
    }

    public func getCity(request: GetCityRequest, context: ServerContext) async throws -> GetCityResponse {
        guard !request.id.isEmpty else { throw RPCError.invalidArgument(field: "id", "is required") }
        guard let city = try await self.snapshot().city(request.id) else {
            throw RPCError(code: .notFound, message: "No city \"\(request.id)\".")
        }
        return GetCityResponse(city: city)
    }

    public func listLinks(request: ListLinksRequest, context: ServerContext) async throws -> ListLinksResponse {
        let snapshot = try await self.snapshot()
        if !request.cityId.isEmpty { _ = try snapshot.node(for: request.cityId, field: "city_id") }
        let country = request.country.isEmpty ? nil : try CountryCode.validated(request.country, field: "country")
        let filter = "links|\(request.cityId)|\(request.includeRetired)|\(country ?? "")"
        let after = try PageToken.decode(request.pageToken, filter: filter)?.lastKey ?? 0
        let limit = Self.pageSize(request.pageSize, defaultSize: 100, maxSize: 1_000)
        var response = ListLinksResponse()
        var lastSeq: Int64 = 0
        for stored in snapshot.links where stored.seq > after {
            let link = stored.link
            guard request.includeRetired || link.active else { continue }
            guard request.cityId.isEmpty || link.fromCityId == request.cityId || link.toCityId == request.cityId else {
                continue
            }
            if let country, !snapshot.link(link, touches: country) { continue }
            if response.links.count == limit {
                response.nextPageToken = PageToken(lastKey: lastSeq).encode(filter: filter)
                break
            }
            response.links.append(link)
            lastSeq = stored.seq
        }
        return response
    }

    public func addLink(request: AddLinkRequest, context: ServerContext) async throws -> AddLinkResponse {
        guard var link = request.link else { throw RPCError.invalidArgument(field: "link", "is required") }
        let snapshot = try await self.snapshot()
        _ = try snapshot.node(for: link.fromCityId, field: "link.from_city_id")
        _ = try snapshot.node(for: link.toCityId, field: "link.to_city_id")
        guard link.fromCityId != link.toCityId else {
            throw RPCError.invalidArgument(field: "link.to_city_id", "must differ from link.from_city_id")
        }
        guard link.transitHours.isFinite, link.transitHours > 0 else {
            throw RPCError.invalidArgument(
                field: "link.transit_hours", "must be a positive number of hours; got \(link.transitHours)")
        }
        guard link.distanceKm.isFinite, link.distanceKm > 0 else {
            throw RPCError.invalidArgument(
                field: "link.distance_km", "must be a positive distance; got \(link.distanceKm)")
        }
        if !link.crossingCityId.isEmpty {
            guard let crossing = snapshot.city(link.crossingCityId), crossing.isBorderCrossing else {
                throw RPCError.invalidArgument(
                    field: "link.crossing_city_id", "\"\(link.crossingCityId)\" is not a border crossing")
            }
            guard link.crossingCityId == link.fromCityId || link.crossingCityId == link.toCityId else {
                throw RPCError.invalidArgument(field: "link.crossing_city_id", "must be one of the link's ends")
            }
        }
        try Self.checkNote(link.note, field: "link.note")
        link.id = ""
        link.active = true
        let write = try IdempotentWrite(request, context: context)
        let added = link
        let (response, data) = try await self.storage {
            try await self.store.write { try await LogisticsWorkflow.addLink(added, write: write, in: $0) }
        }
        self.network.install(NetworkSnapshot(data))
        self.logger.info("Link added", metadata: ["link": "\(response.link?.id ?? "")"])
        return response
    }

    public func retireLink(request: RetireLinkRequest, context: ServerContext) async throws -> RetireLinkResponse {
        guard !request.id.isEmpty else { throw RPCError.invalidArgument(field: "id", "is required") }
        let write = try IdempotentWrite(request, context: context)
        let id = request.id
        let (response, data) = try await self.storage {
            try await self.store.write { try await LogisticsWorkflow.retireLink(id: id, write: write, in: $0) }
        }
        self.network.install(NetworkSnapshot(data))
        self.logger.info("Link retired", metadata: ["link": "\(request.id)"])
        return response
    }

    public func networkStats(request: NetworkStatsRequest, context: ServerContext) async throws -> NetworkStatsResponse
    {
        let snapshot = try await self.snapshot()
        var response = NetworkStatsResponse()
        var asianCountries = Set<String>()
        var europeanCountries = Set<String>()
        for city in snapshot.cities {
            switch city.region {
            case .china: response.chineseCities += 1
            case .europe:
                response.europeanDestinations += 1
                europeanCountries.insert(city.country)
            case .centralAsia, .otherAsia:
                response.asianCities += 1
                asianCountries.insert(city.country)
            default: break
            }
            if city.isBorderCrossing { response.borderCrossings += 1 }
            if city.synthetic { response.syntheticCities += 1 }
        }
        response.asianCountries = UInt32(asianCountries.count)
        response.europeanCountries = UInt32(europeanCountries.count)
        response.cargoCategories = UInt32(snapshot.categories.count)
        response.syntheticCargoCategories = UInt32(snapshot.categories.filter(\.synthetic).count)
        response.activeLinks = UInt32(snapshot.links.filter(\.link.active).count)
        response.syntheticLinks = UInt32(snapshot.links.filter(\.link.synthetic).count)
        response.published = PublishedFigures.message
        response.note = """
            Counts are what this service holds; `published` holds the published figures (more_than: "more than"). \
            \(response.syntheticCities) of the \(snapshot.cities.count) cities (generated stations, and real cities \
            in a border-crossing role the source does not name), \(response.syntheticLinks) of the \
            \(snapshot.links.count) links and \(response.syntheticCargoCategories) of the \(response.cargoCategories) \
            cargo category names are synthetic. The 50,000+ varieties are a published figure only.
            """
        return response
    }

    public func findRoute(request: FindRouteRequest, context: ServerContext) async throws -> FindRouteResponse {
        let snapshot = try await self.snapshot()
        let from = try snapshot.node(for: request.fromCityId, field: "from_city_id")
        let to = try snapshot.node(for: request.toCityId, field: "to_city_id")
        guard from != to else { throw RPCError.invalidArgument(field: "to_city_id", "must differ from from_city_id") }
        let avoidance = try Self.avoidance(request, snapshot: snapshot, from: from, to: to)
        let k = max(1, min(Int(request.alternatives), Self.maxAlternatives))
        var finder = RouteFinder(graph: snapshot.graph)
        let paths = finder.best(from: from, to: to, k: k, avoiding: avoidance)
        guard !paths.isEmpty else {
            var constraints = ""
            if !request.avoidCountries.isEmpty {
                constraints += " avoiding countries \(request.avoidCountries.joined(separator: ", "))"
            }
            if !request.avoidCrossings.isEmpty {
                constraints += " avoiding crossings \(request.avoidCrossings.joined(separator: ", "))"
            }
            throw RPCError(
                code: .notFound,
                message: "No route from \(request.fromCityId) to \(request.toCityId) over active links\(constraints).")
        }
        return FindRouteResponse(routes: paths.map(snapshot.route(for:)))
    }

    static func avoidance(
        _ request: FindRouteRequest, snapshot: NetworkSnapshot, from: Int32, to: Int32
    ) throws(RPCError) -> RouteAvoidance {
        var avoidance = RouteAvoidance()
        for code in request.avoidCountries {
            let country = try CountryCode.validated(code, field: "avoid_countries")
            for end in [from, to] where snapshot.cities[Int(end)].country == country {
                throw RPCError.invalidArgument(
                    field: "avoid_countries", "\(country) contains \(snapshot.cities[Int(end)].id), an end of the route"
                )
            }
            // A country with no city in the network constrains nothing.
            if let index = snapshot.countryIndex[country] { avoidance.countries.insert(index) }
        }
        for id in request.avoidCrossings {
            guard let node = snapshot.cityIndex[id], snapshot.cities[Int(node)].isBorderCrossing else {
                throw RPCError.invalidArgument(field: "avoid_crossings", "\"\(id)\" is not a border crossing")
            }
            guard node != from && node != to else {
                throw RPCError.invalidArgument(field: "avoid_crossings", "\"\(id)\" is an end of the route")
            }
            avoidance.crossings.insert(node)
        }
        return avoidance
    }

    public func listCargoCategories(
        request: ListCargoCategoriesRequest, context: ServerContext
    ) async throws -> ListCargoCategoriesResponse {
        let categories = try await self.snapshot().categories
        return ListCargoCategoriesResponse(
            categories: request.highValueOnly ? categories.filter(\.highValue) : categories)
    }
}
