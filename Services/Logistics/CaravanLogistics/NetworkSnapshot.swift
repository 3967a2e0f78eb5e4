import CaravanCore
import CaravanLogisticsAPI

/// An immutable, in-memory picture of the network at one version: lookups
/// by id and the ``RailGraph`` of active links that routes are found on.
///
/// Rebuilt whenever links change (AddLink, RetireLink) and swapped in
/// whole, so a route search never sees half an update and never touches
/// the database.
public final class NetworkSnapshot: Sendable {
    public let version: Int64
    public let cities: [RailCity]
    public let links: [StoredLink]
    public let categories: [CargoCategory]
    public let cityIndex: [String: Int32]
    public let linkIndex: [String: Int]
    public let categoryIndex: [String: Int]
    /// Country code → index used in ``RailGraph/nodeCountry``.
    public let countryIndex: [String: Int32]
    public let graph: RailGraph
    /// Graph edge → index into `links`.
    public let edgeLink: [Int]

    public init(_ data: NetworkData) {
        self.version = data.version
        self.cities = data.cities
        self.links = data.links
        self.categories = data.categories
        var cityIndex: [String: Int32] = [:]
        var countryIndex: [String: Int32] = [:]
        var nodeCountry: [Int32] = []
        for (index, city) in data.cities.enumerated() {
            cityIndex[city.id] = Int32(index)
            let country =
                countryIndex[city.country]
                ?? {
                    let next = Int32(countryIndex.count)
                    countryIndex[city.country] = next
                    return next
                }()
            nodeCountry.append(country)
        }
        var linkIndex: [String: Int] = [:]
        var edges: [RailGraph.Edge] = []
        var edgeLink: [Int] = []
        for (index, stored) in data.links.enumerated() {
            linkIndex[stored.link.id] = index
            guard stored.link.active, let a = cityIndex[stored.link.fromCityId], let b = cityIndex[stored.link.toCityId]
            else {
                continue
            }
            let crossing = stored.link.crossingCityId.isEmpty ? -1 : (cityIndex[stored.link.crossingCityId] ?? -1)
            edges.append(RailGraph.Edge(a: a, b: b, hours: stored.link.transitHours, crossing: crossing))
            edgeLink.append(index)
        }
        self.cityIndex = cityIndex
        self.countryIndex = countryIndex
        self.linkIndex = linkIndex
        self.categoryIndex = Dictionary(
            data.categories.enumerated().map { ($1.id, $0) }, uniquingKeysWith: { a, _ in a })
        self.graph = RailGraph(nodeCount: data.cities.count, nodeCountry: nodeCountry, edges: edges)
        self.edgeLink = edgeLink
    }

    public func city(_ id: String) -> RailCity? { self.cityIndex[id].map { self.cities[Int($0)] } }

    /// Whether `link` has an end in `country` or crosses the border at one of its crossings.
    public func link(_ link: RailLink, touches country: String) -> Bool {
        [link.fromCityId, link.toCityId, link.crossingCityId].contains { self.city($0)?.country == country }
    }

    /// The node of a known city; INVALID_ARGUMENT naming `field` otherwise.
    public func node(for id: String, field: String) throws(RPCError) -> Int32 {
        guard !id.isEmpty else {
            throw RPCError.invalidArgument(field: field, "is required (a city id such as \"xian\")")
        }
        guard let node = self.cityIndex[id] else {
            throw RPCError.invalidArgument(field: field, "unknown city \"\(id)\"; ListCities shows the known ids")
        }
        return node
    }

    /// The message form of a path found on this snapshot's graph; totals
    /// are summed leg by leg in travel order, as a reader would add them.
    public func route(for path: RoutePath) -> RailRoute {
        var route = RailRoute()
        for (position, edge) in path.edges.enumerated() {
            let link = self.links[self.edgeLink[Int(edge)]].link
            let leg = RouteLeg(
                linkId: link.id,
                fromCityId: self.cities[Int(path.nodes[position])].id,
                toCityId: self.cities[Int(path.nodes[position + 1])].id,
                transitHours: link.transitHours,
                distanceKm: link.distanceKm,
                crossingCityId: link.crossingCityId,
                synthetic: link.synthetic
            )
            route.legs.append(leg)
            route.totalHours += link.transitHours
            route.distanceKm += link.distanceKm
            if !link.crossingCityId.isEmpty { route.crossings.append(link.crossingCityId) }
            if link.synthetic { route.synthetic = true }
        }
        return route
    }
}
