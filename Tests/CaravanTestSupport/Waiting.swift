import Synchronization

/// A value the code under test changes and a test waits on: ``wait(for:until:timeout:)``
/// returns as soon as an ``update(_:)`` makes its condition hold, without
/// polling. The timeout only guards against a hang; it is never what a test measures.
public final class Watched<Value: Sendable>: Sendable {
    private struct Waiter {
        let condition: @Sendable (Value) -> Bool
        let continuation: CheckedContinuation<Value, any Error>
    }

    private struct State {
        var value: Value
        var waiters: [Int: Waiter] = [:]
        var nextID = 0
        /// Waits ended (cancelled, timed out) before their waiter was registered.
        var ended: [Int: any Error] = [:]
    }

    private let state: Mutex<State>

    public init(_ value: Value) {
        self.state = Mutex(State(value: value))
    }

    public var value: Value { self.state.withLock { $0.value } }

    /// Changes the value and wakes every waiter whose condition now holds.
    @discardableResult
    public func update<T>(_ change: (inout Value) -> T) -> T {
        let (result, woken) = self.state.withLock { state -> (T, [(Waiter, Value)]) in
            let result = change(&state.value)
            var woken: [(Waiter, Value)] = []
            for (id, waiter) in state.waiters where waiter.condition(state.value) {
                state.waiters[id] = nil
                woken.append((waiter, state.value))
            }
            return (result, woken)
        }
        for (waiter, value) in woken { waiter.continuation.resume(returning: value) }
        return result
    }

    /// Returns the value once `condition` holds (at once if it already
    /// does). Throws ``WaitTimedOut`` after `timeout`, naming `what`.
    @discardableResult
    public func wait(
        for what: @autoclosure () -> String,
        until condition: @escaping @Sendable (Value) -> Bool,
        timeout: Duration = .seconds(60)
    ) async throws -> Value {
        let description = what()
        let id = self.state.withLock { state -> Int in
            defer { state.nextID += 1 }
            return state.nextID
        }
        let timer = Task {
            try await Task.sleep(for: timeout)
            self.end(id, WaitTimedOut(what: description, timeout: timeout, last: "\(self.value)"))
        }
        defer { timer.cancel() }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let outcome = self.state.withLock { state -> Result<Value, any Error>? in
                    if let error = state.ended.removeValue(forKey: id) { return .failure(error) }
                    if condition(state.value) { return .success(state.value) }
                    state.waiters[id] = Waiter(condition: condition, continuation: continuation)
                    return nil
                }
                if let outcome { continuation.resume(with: outcome) }
            }
        } onCancel: {
            self.end(id, CancellationError())
        }
    }

    private func end(_ id: Int, _ error: any Error) {
        let waiter = self.state.withLock { state -> Waiter? in
            guard let waiter = state.waiters.removeValue(forKey: id) else {
                state.ended[id] = error
                return nil
            }
            return waiter
        }
        waiter?.continuation.resume(throwing: error)
    }
}

extension Watched where Value: Equatable {
    /// Waits until the value equals `expected`.
    @discardableResult
    public func wait(until expected: Value, timeout: Duration = .seconds(60)) async throws -> Value {
        try await self.wait(for: "\(expected)", until: { $0 == expected }, timeout: timeout)
    }
}

/// What a wait that outlived its hang guard throws.
public struct WaitTimedOut: Error, CustomStringConvertible {
    public var what: String
    public var timeout: Duration
    public var last: String
    public var description: String { "Waited \(self.timeout) for \(self.what); the last value was \(self.last)" }
}

/// Checks `condition` until it holds; whether it did within `timeout`.
///
/// Only for what nothing signals — the state of another process, or of a
/// server that is only seen by asking it — where each check is a real
/// attempt (a call, a scrape). Anything the test can be told about, it
/// waits for with ``Watched``.
public func eventually(
    timeout: Duration = .seconds(60), every interval: Duration = .milliseconds(50),
    _ condition: () async throws -> Bool
) async throws -> Bool {
    let deadline = ContinuousClock.now.advanced(by: timeout)
    while true {
        if try await condition() { return true }
        guard ContinuousClock.now < deadline else { return false }
        try await Task.sleep(for: interval)
    }
}

/// Fails the test instead of hanging when `body` takes longer than `limit`.
public func withTimeLimit<Result: Sendable>(
    _ limit: Duration = .seconds(60),
    _ body: @escaping @Sendable () async throws -> Result
) async throws -> Result {
    try await withThrowingTaskGroup(of: Result?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: limit)
            return nil
        }
        defer { group.cancelAll() }
        guard let result = try await group.next()! else {
            throw TimeLimitExceeded(limit: limit)
        }
        return result
    }
}

public struct TimeLimitExceeded: Error, CustomStringConvertible {
    public var limit: Duration
    public var description: String { "The test did not finish within \(self.limit)." }
}

/// A list many tasks append to.
public final class LockedList<Element: Sendable>: Sendable {
    private let storage = Mutex<[Element]>([])
    public init() {}
    public func append(_ element: Element) { self.storage.withLock { $0.append(element) } }
    public var values: [Element] { self.storage.withLock { $0 } }
}
