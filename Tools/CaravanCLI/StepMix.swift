import CaravanCore
import Foundation
import Synchronization

/// Chooses the step of each call in a run (in exact weighted proportion)
/// and keeps the values steps capture from responses for later steps'
/// `{{use}}` and `{{take}}`.
///
/// One lock covers the choice and the pools, so a `{{take}}` value goes to
/// one call only and a step is chosen only once its pools have values.
final class StepMix: Sendable {
    /// Values kept per pool; past this, a new value replaces a random old one,
    /// so memory stays bounded on long runs and the pool stays varied.
    static let poolCapacity = 4096

    let steps: [LoadStep]
    private let state: Mutex<State>
    /// One step reading and filling no pools: the lock is never taken on the hot path.
    private let isSingle: Bool

    private struct State {
        var order: WeightedRoundRobin
        var pools: [String: [String]] = [:]
    }

    init(steps: [LoadStep]) {
        precondition(!steps.isEmpty, "a load plan has at least one step")
        self.steps = steps
        self.isSingle = steps.count == 1 && steps[0].poolReads.isEmpty && steps[0].captures.isEmpty
        self.state = Mutex(State(order: WeightedRoundRobin(weights: steps.map(\.weight))))
    }

    /// The step of call `number` and its request (or why it could not be made).
    func prepare(number: Int, worker: Int) -> (step: Int, request: Result<[UInt8], any Error>) {
        if self.isSingle { return (0, self.steps[0].request(number: number, worker: worker, captured: [:])) }
        let (index, captured) = self.state.withLock { state -> (Int, [String: String]) in
            let pools = state.pools
            let chosen =
                state.order.next { index in
                    self.steps[index].poolReads.allSatisfy { !(pools[$0.pool]?.isEmpty ?? true) }
                }
                // Unreachable for a checked scenario (some step reads no pool); kept total for hand-made plans.
                ?? self.steps.firstIndex { $0.poolReads.isEmpty } ?? 0
            var values: [String: String] = [:]
            for read in self.steps[chosen].poolReads {
                guard var pool = state.pools[read.pool], !pool.isEmpty else { continue }
                let slot = Int.random(in: pool.indices)
                values[read.pool] = pool[slot]
                if read.consumes {
                    pool.swapAt(slot, pool.count - 1)
                    pool.removeLast()
                    state.pools[read.pool] = pool
                }
            }
            return (chosen, values)
        }
        return (index, self.steps[index].request(number: number, worker: worker, captured: captured))
    }

    /// Keeps the captured fields of step `index`'s OK response.
    func capture(step index: Int, response: [UInt8]) {
        let step = self.steps[index]
        guard !step.captures.isEmpty,
            let json = try? SchemaRegistry.decodeToJSON(response, as: step.method.outputType, pretty: false),
            let object = try? JSONSerialization.jsonObject(with: json)
        else { return }
        let found = step.captures.map { ($0.pool, Self.values(at: $0.path[...], in: object)) }
        self.state.withLock { state in
            for (pool, values) in found {
                for value in values {
                    if state.pools[pool, default: []].count < Self.poolCapacity {
                        state.pools[pool, default: []].append(value)
                    } else {
                        state.pools[pool]![Int.random(in: 0..<Self.poolCapacity)] = value
                    }
                }
            }
        }
    }

    /// The scalars at `path` in decoded JSON; every element of an array on the way.
    static func values(at path: ArraySlice<String>, in json: Any) -> [String] {
        if let array = json as? [Any] { return array.flatMap { Self.values(at: path, in: $0) } }
        guard let key = path.first else {
            switch json {
            case let string as String: return string.isEmpty ? [] : [string]
            case let number as NSNumber: return [number.stringValue]
            default: return []
            }
        }
        guard let object = json as? [String: Any], let next = object[key] else { return [] }
        return Self.values(at: path.dropFirst(), in: next)
    }
}
