import CaravanDomain
import CaravanLogistics
import Testing

/// The route finder against exhaustive search on small random graphs.
@Suite("Route finder")
struct RouteFinderTests {
    struct SmallGraph {
        var graph: RailGraph
        var avoidance: RouteAvoidance
    }

    static func randomGraph(_ random: inout SplitMix64) -> SmallGraph {
        let nodes = Int.random(in: 2...7, using: &random)
        let edgeCount = Int.random(in: 0...13, using: &random)
        var edges: [RailGraph.Edge] = []
        for _ in 0..<edgeCount {
            let a = Int32.random(in: 0..<Int32(nodes), using: &random)
            var b = Int32.random(in: 0..<Int32(nodes), using: &random)
            if a == b { b = (b + 1) % Int32(nodes) }
            // Half-hour steps: sums are exact in binary floating point.
            let hours = Double(Int.random(in: 1...20, using: &random)) / 2
            let crossing: Int32 = Int.random(in: 0..<5, using: &random) == 0 ? a : -1
            edges.append(RailGraph.Edge(a: a, b: b, hours: hours, crossing: crossing))
        }
        let countries = (0..<nodes).map { _ in Int32.random(in: 0...2, using: &random) }
        var avoidance = RouteAvoidance()
        if Int.random(in: 0..<4, using: &random) == 0 {
            avoidance.countries.insert(Int32.random(in: 0...2, using: &random))
        }
        if Int.random(in: 0..<4, using: &random) == 0 {
            avoidance.crossings.insert(Int32.random(in: 0..<Int32(nodes), using: &random))
        }
        return SmallGraph(
            graph: RailGraph(nodeCount: nodes, nodeCountry: countries, edges: edges), avoidance: avoidance)
    }

    /// Every loopless path's hours, by depth-first enumeration, ascending.
    static func bruteForce(_ graph: RailGraph, from source: Int32, to target: Int32, avoiding avoidance: RouteAvoidance)
        -> [Double]
    {
        func blocked(_ node: Int32) -> Bool {
            avoidance.countries.contains(graph.nodeCountry[Int(node)]) || avoidance.crossings.contains(node)
        }
        if blocked(source) || blocked(target) { return [] }
        var costs: [Double] = []
        var visited = Set<Int32>([source])
        func walk(_ node: Int32, _ hours: Double) {
            if node == target {
                costs.append(hours)
                return
            }
            for edge in graph.edges where edge.a == node || edge.b == node {
                let next = edge.a == node ? edge.b : edge.a
                if visited.contains(next) || blocked(next) || avoidance.crossings.contains(edge.crossing) { continue }
                visited.insert(next)
                walk(next, hours + edge.hours)
                visited.remove(next)
            }
        }
        walk(source, 0)
        return costs.sorted()
    }

    /// A path is contiguous, loopless, within the avoidance, and its hours add up.
    static func check(
        _ path: RoutePath, in graph: RailGraph, from source: Int32, to target: Int32, avoiding avoidance: RouteAvoidance
    ) {
        #expect(path.nodes.first == source && path.nodes.last == target)
        #expect(path.nodes.count == path.edges.count + 1)
        #expect(Set(path.nodes).count == path.nodes.count, "loopless")
        var hours = 0.0
        for (index, edgeIndex) in path.edges.enumerated() {
            let edge = graph.edges[Int(edgeIndex)]
            let (u, v) = (path.nodes[index], path.nodes[index + 1])
            #expect((edge.a == u && edge.b == v) || (edge.a == v && edge.b == u), "edge joins consecutive nodes")
            #expect(!avoidance.crossings.contains(edge.crossing))
            hours += edge.hours
        }
        for node in path.nodes {
            #expect(!avoidance.countries.contains(graph.nodeCountry[Int(node)]))
            #expect(!avoidance.crossings.contains(node))
        }
        #expect(hours == path.hours)
    }

    @Test("Fastest and k best match exhaustive search on 400 random graphs")
    func matchesBruteForce() {
        var random = SplitMix64(seed: 20_241_231)
        var routed = 0
        for _ in 0..<400 {
            let small = Self.randomGraph(&random)
            let source = Int32.random(in: 0..<Int32(small.graph.nodeCount), using: &random)
            var target = Int32.random(in: 0..<Int32(small.graph.nodeCount), using: &random)
            if target == source { target = (target + 1) % Int32(small.graph.nodeCount) }
            let k = Int.random(in: 1...5, using: &random)
            let expected = Self.bruteForce(small.graph, from: source, to: target, avoiding: small.avoidance)
            var finder = RouteFinder(graph: small.graph)
            let found = finder.best(from: source, to: target, k: k, avoiding: small.avoidance)
            #expect(
                found.map(\.hours) == Array(expected.prefix(k)),
                "graph \(small.graph.edges), \(source)→\(target), k=\(k)")
            #expect(Set(found.map(\.edges)).count == found.count, "alternatives are distinct")
            for path in found { Self.check(path, in: small.graph, from: source, to: target, avoiding: small.avoidance) }
            #expect(finder.fastest(from: source, to: target, avoiding: small.avoidance)?.hours == expected.first)
            if !expected.isEmpty { routed += 1 }
        }
        // The generator must exercise both outcomes, or the test proves little.
        #expect(routed > 100)
        #expect(routed < 390)
    }

    @Test("No path, or an avoided end, gives no route")
    func noRoute() {
        let graph = RailGraph(
            nodeCount: 4, nodeCountry: [0, 0, 1, 1],
            edges: [
                .init(a: 0, b: 1, hours: 1), .init(a: 2, b: 3, hours: 1),
            ])
        var finder = RouteFinder(graph: graph)
        #expect(finder.fastest(from: 0, to: 3) == nil)
        #expect(finder.fastest(from: 0, to: 1)?.hours == 1)
        #expect(finder.fastest(from: 0, to: 1, avoiding: RouteAvoidance(countries: [0])) == nil)
        #expect(finder.best(from: 0, to: 0, k: 3).isEmpty)
    }

    @Test("A crossing avoided forces the detour")
    func avoidCrossing() {
        // 0 —(crossing at 1)— 1 — 3 is fast; 0 — 2 — 3 is slow.
        let graph = RailGraph(
            nodeCount: 4, nodeCountry: [0, 0, 0, 0],
            edges: [
                .init(a: 0, b: 1, hours: 1, crossing: 1), .init(a: 1, b: 3, hours: 1),
                .init(a: 0, b: 2, hours: 5), .init(a: 2, b: 3, hours: 5),
            ])
        var finder = RouteFinder(graph: graph)
        #expect(finder.fastest(from: 0, to: 3)?.nodes == [0, 1, 3])
        #expect(finder.fastest(from: 0, to: 3, avoiding: RouteAvoidance(crossings: [1]))?.nodes == [0, 2, 3])
        #expect(finder.best(from: 0, to: 3, k: 5).map(\.hours) == [2, 10])
    }

    @Test("The generated benchmark network is connected and sized as asked")
    func generatedNetwork() {
        let graph = GeneratedNetwork.graph(stations: 400, links: 2_000, seed: 3)
        #expect(graph.nodeCount == 400)
        #expect(graph.edges.count == 2_000)
        var finder = RouteFinder(graph: graph)
        #expect(finder.fastest(from: 0, to: 399) != nil)
    }
}
