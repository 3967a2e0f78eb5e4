/// Picks among weighted choices in exact proportion and evenly spread, with
/// no randomness: smooth weighted round-robin, as nginx balances upstreams.
///
/// Over any run of `sum(weights)` picks, choice `i` is picked exactly
/// `weights[i]` times, and its picks are interleaved with the others' rather
/// than bunched (weights 5, 1, 1 give a a b a c a a, not a a a a a b c), so a
/// short load run still sees the intended mix.
public struct WeightedRoundRobin: Sendable {
    public let weights: [Int]
    private var current: [Int]

    /// `weights` must all be positive.
    public init(weights: [Int]) {
        precondition(!weights.isEmpty && weights.allSatisfy { $0 > 0 }, "weights must be positive")
        self.weights = weights
        self.current = Array(repeating: 0, count: weights.count)
    }

    /// The next choice.
    public mutating func next() -> Int {
        self.next { _ in true }!
    }

    /// The next choice among those `isEligible` accepts (nginx skips a down
    /// upstream the same way); nil when it accepts none. While every choice
    /// is eligible the proportions are exact.
    public mutating func next(where isEligible: (Int) -> Bool) -> Int? {
        var best: Int?
        var total = 0
        for index in self.weights.indices where isEligible(index) {
            self.current[index] += self.weights[index]
            total += self.weights[index]
            if best.map({ self.current[index] > self.current[$0] }) ?? true { best = index }
        }
        guard let best else { return nil }
        self.current[best] -= total
        return best
    }
}
