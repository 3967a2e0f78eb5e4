/// A simple path through a ``RailGraph``: its nodes, the edges between
/// them (one fewer) and the total transit hours.
public struct RoutePath: Sendable, Hashable {
    public var nodes: [Int32]
    public var edges: [Int32]
    public var hours: Double

    public init(nodes: [Int32], edges: [Int32], hours: Double) {
        self.nodes = nodes
        self.edges = edges
        self.hours = hours
    }
}

/// What a route must stay clear of.
public struct RouteAvoidance: Sendable, Hashable {
    /// Country indices (as in ``RailGraph/nodeCountry``) no node may be in.
    public var countries: Set<Int32>
    /// Nodes not to pass, and edges whose crossing is one of them.
    public var crossings: Set<Int32>

    public init(countries: Set<Int32> = [], crossings: Set<Int32> = []) {
        self.countries = countries
        self.crossings = crossings
    }

    public static let none = RouteAvoidance()
}
