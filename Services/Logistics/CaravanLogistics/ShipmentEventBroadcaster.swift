import CaravanLogisticsAPI
import Synchronization

/// Hands newly committed shipment events to the watchers in this process.
///
/// Writers publish after their transaction commits, so a watcher never
/// sees an event that could still roll back. A watcher subscribes before
/// reading the history, and skips what it already sent by sequence number,
/// so nothing falls between the history and the live events.
public final class ShipmentEventBroadcaster: Sendable {
    /// What a watcher's stream carries.
    public enum Signal: Sendable {
        /// A committed event and the shipment's status after it.
        case event(ShipmentEvent, ShipmentStatus)
        /// Look in the database (buffer overflow, or a timer: events
        /// recorded by another replica sharing the database).
        case poll
    }

    /// One watcher's stream; ``cancel()`` (or ending the stream) unsubscribes.
    public struct Subscription: Sendable {
        public let stream: AsyncStream<Signal>
        let continuation: AsyncStream<Signal>.Continuation

        /// Asks the watcher to look in the database.
        public func poll() { self.continuation.yield(.poll) }
        public func cancel() { self.continuation.finish() }
    }

    private struct State {
        var nextToken: UInt64 = 0
        var watchers: [String: [UInt64: AsyncStream<Signal>.Continuation]] = [:]
    }

    /// Signals buffered per watcher; beyond this the oldest are dropped and
    /// the watcher refills the gap from the database.
    public static let bufferSize = 256

    private let state = Mutex(State())

    public init() {}

    public func subscribe(shipmentID: String) -> Subscription {
        let (stream, continuation) = AsyncStream<Signal>.makeStream(bufferingPolicy: .bufferingNewest(Self.bufferSize))
        let token = self.state.withLock { state in
            state.nextToken += 1
            state.watchers[shipmentID, default: [:]][state.nextToken] = continuation
            return state.nextToken
        }
        continuation.onTermination = { [weak self] _ in
            self?.state.withLock { state in
                state.watchers[shipmentID]?[token] = nil
                if state.watchers[shipmentID]?.isEmpty == true { state.watchers[shipmentID] = nil }
            }
        }
        return Subscription(stream: stream, continuation: continuation)
    }

    public func publish(_ event: ShipmentEvent, status: ShipmentStatus) {
        let watchers = self.state.withLock { Array(($0.watchers[event.shipmentId] ?? [:]).values) }
        for watcher in watchers { watcher.yield(.event(event, status)) }
    }

    /// Watchers currently subscribed (for tests and metrics).
    public var watcherCount: Int {
        self.state.withLock { $0.watchers.values.reduce(0) { $0 + $1.count } }
    }
}
