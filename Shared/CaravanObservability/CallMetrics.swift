import CaravanCore
import CoreMetrics
import Synchronization

/// The per-call instruments of a server, made once per method (and per
/// method and status) and kept, so a call costs a dictionary lookup and a
/// few atomic adds, not a registry lookup.
public final class CallMetrics: Sendable {
    /// Metric names; docs/OBSERVABILITY.md lists them with their labels.
    public enum Name {
        public static let started = "caravan_rpc_server_started_total"
        public static let handled = "caravan_rpc_server_handled_total"
        public static let duration = "caravan_rpc_server_duration_seconds"
        public static let inFlight = "caravan_rpc_server_in_flight"
    }

    private struct MethodInstruments: Sendable {
        let started: Counter
        let duration: CoreMetrics.Timer
    }

    private struct HandledKey: Hashable {
        var method: String
        var code: Int32
    }

    private let factory: any MetricsFactory
    private let inFlight: Meter
    private let methods = Mutex<[String: MethodInstruments]>([:])
    private let handled = Mutex<[HandledKey: Counter]>([:])

    public init(factory: any MetricsFactory = MetricsSystem.factory) {
        self.factory = factory
        self.inFlight = Meter(label: Name.inFlight, dimensions: [], factory: factory)
    }

    /// The method label: the path without its leading slash, e.g. `caravan.echo.v1.Echo/Unary`.
    static func label(_ descriptor: MethodDescriptor) -> String {
        "\(descriptor.service)/\(descriptor.method)"
    }

    func callStarted(_ descriptor: MethodDescriptor) {
        self.instruments(descriptor).started.increment()
        self.inFlight.increment()
    }

    func callFinished(_ descriptor: MethodDescriptor, code: StatusCode, nanoseconds: Int64) {
        self.inFlight.decrement()
        self.instruments(descriptor).duration.recordNanoseconds(nanoseconds)
        let key = HandledKey(method: descriptor.path, code: code.rawValue)
        let counter = self.handled.withLock { counters in
            if let counter = counters[key] { return counter }
            let counter = Counter(
                label: Name.handled, dimensions: [("method", Self.label(descriptor)), ("code", code.name)],
                factory: self.factory)
            counters[key] = counter
            return counter
        }
        counter.increment()
    }

    private func instruments(_ descriptor: MethodDescriptor) -> MethodInstruments {
        self.methods.withLock { methods in
            if let instruments = methods[descriptor.path] { return instruments }
            let method = Self.label(descriptor)
            let instruments = MethodInstruments(
                started: Counter(label: Name.started, dimensions: [("method", method)], factory: self.factory),
                duration: CoreMetrics.Timer(label: Name.duration, dimensions: [("method", method)], factory: self.factory)
            )
            methods[descriptor.path] = instruments
            return instruments
        }
    }
}
