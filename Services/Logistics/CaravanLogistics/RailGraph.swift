/// An immutable adjacency view (compressed rows) of the routable links, the
/// structure the route finder searches.
///
/// Nodes are dense indices `0..<nodeCount`; every undirected edge appears
/// as two arcs. Arrays of plain numbers keep the inner loop of Dijkstra
/// free of hashing and reference counting.
public struct RailGraph: Sendable {
    /// One undirected, routable edge: its two ends, transit hours and the
    /// border-crossing node it passes (-1 for none).
    public struct Edge: Sendable, Hashable {
        public var a: Int32
        public var b: Int32
        public var hours: Double
        public var crossing: Int32

        public init(a: Int32, b: Int32, hours: Double, crossing: Int32 = -1) {
            self.a = a
            self.b = b
            self.hours = hours
            self.crossing = crossing
        }
    }

    public let nodeCount: Int
    /// Per node: an index into `countries` of the caller's choosing.
    public let nodeCountry: [Int32]
    public let edges: [Edge]
    /// Arcs leaving node `n` are `arcOffset[n]..<arcOffset[n + 1]`.
    let arcOffset: [Int32]
    let arcTarget: [Int32]
    let arcHours: [Double]
    let arcEdge: [Int32]

    public init(nodeCount: Int, nodeCountry: [Int32], edges: [Edge]) {
        precondition(nodeCountry.count == nodeCount, "one country per node")
        self.nodeCount = nodeCount
        self.nodeCountry = nodeCountry
        self.edges = edges
        var degree = [Int32](repeating: 0, count: nodeCount + 1)
        for edge in edges {
            degree[Int(edge.a) + 1] += 1
            degree[Int(edge.b) + 1] += 1
        }
        for index in 0..<nodeCount { degree[index + 1] += degree[index] }
        var fill = degree
        var target = [Int32](repeating: 0, count: edges.count * 2)
        var hours = [Double](repeating: 0, count: edges.count * 2)
        var arcEdge = [Int32](repeating: 0, count: edges.count * 2)
        for (index, edge) in edges.enumerated() {
            for (from, to) in [(edge.a, edge.b), (edge.b, edge.a)] {
                let slot = Int(fill[Int(from)])
                fill[Int(from)] += 1
                target[slot] = to
                hours[slot] = edge.hours
                arcEdge[slot] = Int32(index)
            }
        }
        self.arcOffset = degree
        self.arcTarget = target
        self.arcHours = hours
        self.arcEdge = arcEdge
    }
}
