/// A binary min-heap of (key, node) pairs: Dijkstra's priority queue.
///
/// Decrease-key is done lazily (push again, skip stale pops), which is
/// faster in practice than an indexed heap on sparse rail graphs.
struct MinHeap {
    private var keys: [Double] = []
    private var nodes: [Int32] = []

    init() {}

    var isEmpty: Bool { self.keys.isEmpty }

    mutating func removeAll() {
        self.keys.removeAll(keepingCapacity: true)
        self.nodes.removeAll(keepingCapacity: true)
    }

    mutating func push(_ key: Double, _ node: Int32) {
        self.keys.append(key)
        self.nodes.append(node)
        var child = self.keys.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard Self.less(key, node, self.keys[parent], self.nodes[parent]) else { break }
            self.keys[child] = self.keys[parent]
            self.nodes[child] = self.nodes[parent]
            child = parent
        }
        self.keys[child] = key
        self.nodes[child] = node
    }

    mutating func pop() -> (key: Double, node: Int32)? {
        guard let lastKey = self.keys.popLast(), let lastNode = self.nodes.popLast() else { return nil }
        guard !self.keys.isEmpty else { return (lastKey, lastNode) }
        let top = (self.keys[0], self.nodes[0])
        let count = self.keys.count
        var parent = 0
        while true {
            var child = 2 * parent + 1
            guard child < count else { break }
            if child + 1 < count,
                Self.less(self.keys[child + 1], self.nodes[child + 1], self.keys[child], self.nodes[child])
            {
                child += 1
            }
            guard Self.less(self.keys[child], self.nodes[child], lastKey, lastNode) else { break }
            self.keys[parent] = self.keys[child]
            self.nodes[parent] = self.nodes[child]
            parent = child
        }
        self.keys[parent] = lastKey
        self.nodes[parent] = lastNode
        return top
    }

    /// Ties broken by node index, so equal-cost searches are deterministic.
    @inline(__always)
    private static func less(_ k1: Double, _ n1: Int32, _ k2: Double, _ n2: Int32) -> Bool {
        k1 < k2 || (k1 == k2 && n1 < n2)
    }
}
