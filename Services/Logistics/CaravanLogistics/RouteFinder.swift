/// Finds the fastest routes through a ``RailGraph``: Dijkstra over transit
/// hours with a binary heap, and the k best loopless alternatives by Yen's
/// algorithm. Pure and network-free; one value per search (not shared
/// between tasks), since it reuses its scratch arrays between the
/// Dijkstra runs of one Yen search.
public struct RouteFinder {
    public let graph: RailGraph

    // Scratch, valid where `stamp[n] == generation` (no O(n) reset per run).
    private var distance: [Double]
    private var previousArc: [Int32]
    private var stamp: [UInt32]
    private var generation: UInt32 = 0
    private var heap = MinHeap()
    // Blocked by the caller's avoidance (for the whole search).
    private var avoidedNode: [Bool] = []
    private var avoidedEdge: [Bool] = []
    // Blocked for one spur search of Yen's algorithm.
    private var spurNodeStamp: [UInt32]
    private var spurEdgeStamp: [UInt32]
    private var spurGeneration: UInt32 = 1

    public init(graph: RailGraph) {
        self.graph = graph
        self.distance = [Double](repeating: 0, count: graph.nodeCount)
        self.previousArc = [Int32](repeating: -1, count: graph.nodeCount)
        self.stamp = [UInt32](repeating: 0, count: graph.nodeCount)
        self.spurNodeStamp = [UInt32](repeating: 0, count: graph.nodeCount)
        self.spurEdgeStamp = [UInt32](repeating: 0, count: graph.edges.count)
    }

    /// The fastest path from `source` to `target`, or nil when none avoids
    /// what it must.
    public mutating func fastest(from source: Int32, to target: Int32, avoiding avoidance: RouteAvoidance = .none)
        -> RoutePath?
    {
        self.best(from: source, to: target, k: 1, avoiding: avoidance).first
    }

    /// Up to `k` loopless paths, fastest first (Yen's algorithm).
    public mutating func best(from source: Int32, to target: Int32, k: Int, avoiding avoidance: RouteAvoidance = .none)
        -> [RoutePath]
    {
        guard k >= 1, source != target,
            (0..<Int32(self.graph.nodeCount)).contains(source),
            (0..<Int32(self.graph.nodeCount)).contains(target)
        else { return [] }
        self.applyAvoidance(avoidance)
        if !self.avoidedNode.isEmpty, self.avoidedNode[Int(source)] || self.avoidedNode[Int(target)] { return [] }
        self.nextSpurGeneration()  // nothing spur-blocked
        guard let first = self.dijkstra(from: source, to: target) else { return [] }
        var found = [first]
        guard k > 1 else { return found }

        var candidates: [RoutePath] = []
        var seen: Set<[Int32]> = [first.edges]
        while found.count < k {
            let previous = found[found.count - 1]
            var rootHours = 0.0
            for spurIndex in 0..<(previous.nodes.count - 1) {
                let spurNode = previous.nodes[spurIndex]
                let rootEdges = previous.edges[0..<spurIndex]
                self.nextSpurGeneration()
                // Leave the root path only by an edge no shorter path used.
                for path in found where path.edges.count > spurIndex && path.edges[0..<spurIndex] == rootEdges {
                    self.spurEdgeStamp[Int(path.edges[spurIndex])] = self.spurGeneration
                }
                // Stay loopless: the root's nodes are off limits to the spur.
                for node in previous.nodes[0..<spurIndex] {
                    self.spurNodeStamp[Int(node)] = self.spurGeneration
                }
                if let spur = self.dijkstra(from: spurNode, to: target) {
                    let edges = Array(rootEdges) + spur.edges
                    if seen.insert(edges).inserted {
                        let nodes = Array(previous.nodes[0..<spurIndex]) + spur.nodes
                        candidates.append(RoutePath(nodes: nodes, edges: edges, hours: rootHours + spur.hours))
                    }
                }
                rootHours += self.graph.edges[Int(previous.edges[spurIndex])].hours
            }
            guard !candidates.isEmpty else { break }
            var bestIndex = 0
            for index in 1..<candidates.count where Self.isBetter(candidates[index], than: candidates[bestIndex]) {
                bestIndex = index
            }
            found.append(candidates.remove(at: bestIndex))
        }
        return found
    }

    /// Fewer hours first; then fewer legs; then the edge sequence, so
    /// results do not depend on discovery order.
    private static func isBetter(_ a: RoutePath, than b: RoutePath) -> Bool {
        if a.hours != b.hours { return a.hours < b.hours }
        if a.edges.count != b.edges.count { return a.edges.count < b.edges.count }
        return a.edges.lexicographicallyPrecedes(b.edges)
    }

    private mutating func nextSpurGeneration() {
        self.spurGeneration &+= 1
        if self.spurGeneration == 0 {
            // Wrapped: clear the stamps so none looks current.
            for index in self.spurNodeStamp.indices { self.spurNodeStamp[index] = 0 }
            for index in self.spurEdgeStamp.indices { self.spurEdgeStamp[index] = 0 }
            self.spurGeneration = 1
        }
    }

    private mutating func applyAvoidance(_ avoidance: RouteAvoidance) {
        if avoidance.countries.isEmpty && avoidance.crossings.isEmpty {
            self.avoidedNode = []
            self.avoidedEdge = []
            return
        }
        self.avoidedNode = self.graph.nodeCountry.map { avoidance.countries.contains($0) }
        for node in avoidance.crossings where (0..<Int32(self.graph.nodeCount)).contains(node) {
            self.avoidedNode[Int(node)] = true
        }
        self.avoidedEdge = self.graph.edges.map { avoidance.crossings.contains($0.crossing) }
    }

    private mutating func dijkstra(from source: Int32, to target: Int32) -> RoutePath? {
        self.generation &+= 1
        if self.generation == 0 {
            // Wrapped: clear stamps so no stale entry looks current.
            for index in self.stamp.indices { self.stamp[index] = 0 }
            self.generation = 1
        }
        let generation = self.generation
        let spurGeneration = self.spurGeneration
        let checkAvoided = !self.avoidedNode.isEmpty
        // Work on locals: the scratch arrays are moved out of `self` (so
        // writes need no uniqueness checks) and put back at the end.
        let arcOffset = self.graph.arcOffset
        let arcTarget = self.graph.arcTarget
        let arcEdge = self.graph.arcEdge
        let arcHours = self.graph.arcHours
        let spurNodeStamp = self.spurNodeStamp
        let spurEdgeStamp = self.spurEdgeStamp
        let avoidedNode = self.avoidedNode
        let avoidedEdge = self.avoidedEdge
        var distance = self.distance
        var previousArc = self.previousArc
        var stamp = self.stamp
        var heap = self.heap
        self.distance = []
        self.previousArc = []
        self.stamp = []
        self.heap = MinHeap()
        defer {
            self.distance = distance
            self.previousArc = previousArc
            self.stamp = stamp
            self.heap = heap
        }
        heap.removeAll()
        distance[Int(source)] = 0
        previousArc[Int(source)] = -1
        stamp[Int(source)] = generation
        heap.push(0, source)
        var reached = false
        while let (key, node) = heap.pop() {
            let n = Int(node)
            if key > distance[n] { continue }  // stale entry
            if node == target {
                reached = true
                break
            }
            var arc = Int(arcOffset[n])
            let end = Int(arcOffset[n + 1])
            while arc < end {
                defer { arc += 1 }
                let next = Int(arcTarget[arc])
                let edge = Int(arcEdge[arc])
                if spurNodeStamp[next] == spurGeneration || spurEdgeStamp[edge] == spurGeneration { continue }
                if checkAvoided && (avoidedNode[next] || avoidedEdge[edge]) { continue }
                let candidate = key + arcHours[arc]
                if stamp[next] != generation || candidate < distance[next] {
                    stamp[next] = generation
                    distance[next] = candidate
                    previousArc[next] = Int32(arc)
                    heap.push(candidate, Int32(next))
                }
            }
        }
        guard reached else { return nil }
        var nodes: [Int32] = [target]
        var edges: [Int32] = []
        var node = Int(target)
        while node != Int(source) {
            let arc = Int(previousArc[node])
            let edge = arcEdge[arc]
            edges.append(edge)
            let e = self.graph.edges[Int(edge)]
            node = Int(e.a) == node ? Int(e.b) : Int(e.a)
            nodes.append(Int32(node))
        }
        return RoutePath(nodes: nodes.reversed(), edges: edges.reversed(), hours: distance[Int(target)])
    }
}
