import CaravanHealthAPI
import Synchronization

/// The serving status of a server and each of its services; what the
/// health service answers. Changes reach every `Watch` at once.
public final class HealthStatusProvider: Sendable {
    public typealias Status = HealthCheckResponse.ServingStatus

    private struct State {
        var statuses: [String: Status] = [:]
        var watchers: [Int: (service: String, continuation: AsyncStream<Status>.Continuation)] = [:]
        var nextWatcherID = 0
    }

    private let state = Mutex(State())

    public init() {}

    /// The status of `service` ("" is the server as a whole); nil if unknown.
    public func status(of service: String) -> Status? {
        self.state.withLock { $0.statuses[service] }
    }

    /// Sets the status of `service` ("" for the whole server).
    public func setStatus(_ status: Status, forService service: String) {
        let watchers = self.state.withLock { state in
            state.statuses[service] = status
            return state.watchers.values.filter { $0.service == service }.map(\.continuation)
        }
        for watcher in watchers { watcher.yield(status) }
    }

    /// Sets every known service, and the server, to `status`.
    public func setAll(_ status: Status) {
        let watchers = self.state.withLock { state in
            for service in state.statuses.keys { state.statuses[service] = status }
            return state.watchers.values.map(\.continuation)
        }
        for watcher in watchers { watcher.yield(status) }
    }

    /// Sets everything NOT_SERVING and ends every watch, so that open
    /// `Watch` calls do not hold up a draining server.
    public func shutDown() {
        let watchers = self.state.withLock { state in
            for service in state.statuses.keys { state.statuses[service] = .notServing }
            defer { state.watchers.removeAll() }
            return state.watchers.values.map(\.continuation)
        }
        for watcher in watchers {
            watcher.yield(.notServing)
            watcher.finish()
        }
    }

    /// The current status of `service`, then each change, until the
    /// stream's consumer stops.
    func watch(_ service: String) -> AsyncStream<Status> {
        let (stream, continuation) = AsyncStream.makeStream(of: Status.self, bufferingPolicy: .bufferingNewest(1))
        let id = self.state.withLock { state in
            state.nextWatcherID += 1
            state.watchers[state.nextWatcherID] = (service, continuation)
            continuation.yield(state.statuses[service] ?? .serviceUnknown)
            return state.nextWatcherID
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.watchers.removeValue(forKey: id) }
        }
        return stream
    }
}
