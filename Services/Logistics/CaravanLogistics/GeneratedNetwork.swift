import CaravanDomain

/// Random rail graphs for benchmarks: stations on a square grid, each
/// linked to its right and lower neighbours (so all are connected) plus
/// random short links to stations a few cells away, like a real network
/// where most links are regional.
public enum GeneratedNetwork {
    /// A graph of `stations` nodes and `links` edges (at least the grid's
    /// own), deterministic for a `seed`. Hours ≈ 50 km per cell at 40 km/h.
    public static func graph(stations: Int, links: Int, seed: UInt64) -> RailGraph {
        var random = SplitMix64(seed: seed)
        let side = max(1, Int(Double(stations).squareRoot().rounded(.up)))
        var edges: [RailGraph.Edge] = []
        edges.reserveCapacity(links)
        func hours(_ a: Int, _ b: Int) -> Double {
            let dx = Double(a % side - b % side), dy = Double(a / side - b / side)
            let km = (dx * dx + dy * dy).squareRoot() * 50
            return (km / 40 * Double.random(in: 0.9...1.3, using: &random) * 2).rounded() / 2 + 0.5
        }
        for node in 0..<stations {
            if node % side + 1 < side, node + 1 < stations {
                edges.append(.init(a: Int32(node), b: Int32(node + 1), hours: hours(node, node + 1)))
            }
            if node + side < stations {
                edges.append(.init(a: Int32(node), b: Int32(node + side), hours: hours(node, node + side)))
            }
        }
        while edges.count < links {
            let a = Int.random(in: 0..<stations, using: &random)
            let dx = Int.random(in: -3...3, using: &random), dy = Int.random(in: -3...3, using: &random)
            let x = a % side + dx, y = a / side + dy
            guard (0..<side).contains(x), (0..<side).contains(y) else { continue }
            let b = y * side + x
            guard b != a, b < stations else { continue }
            edges.append(.init(a: Int32(a), b: Int32(b), hours: hours(a, b)))
        }
        return RailGraph(nodeCount: stations, nodeCountry: [Int32](repeating: 0, count: stations), edges: edges)
    }
}
