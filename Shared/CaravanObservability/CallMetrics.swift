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

    /// One method's instruments; its counters by status are made on first use.
    final class MethodInstruments: Sendable {
        let label: String
        let started: Counter
        let duration: CoreMetrics.Timer
        private let factory: any MetricsFactory
        private let handled = Mutex<[Counter?]>(Array(repeating: nil, count: StatusCode.allCases.count))

        init(label: String, factory: any MetricsFactory) {
            self.label = label
            self.factory = factory
            self.started = Counter(label: Name.started, dimensions: [("method", label)], factory: factory)
            self.duration = CoreMetrics.Timer(label: Name.duration, dimensions: [("method", label)], factory: factory)
        }

        func handled(_ code: StatusCode) -> Counter {
            self.handled.withLock { counters in
                if let counter = counters[Int(code.rawValue)] { return counter }
                let counter = Counter(
                    label: Name.handled, dimensions: [("method", self.label), ("code", code.name)],
                    factory: self.factory)
                counters[Int(code.rawValue)] = counter
                return counter
            }
        }
    }

    private let factory: any MetricsFactory
    private let inFlight: Meter
    private let methods = Mutex<[String: MethodInstruments]>([:])

    public init(factory: any MetricsFactory = MetricsSystem.factory) {
        self.factory = factory
        self.inFlight = Meter(label: Name.inFlight, dimensions: [], factory: factory)
    }

    /// The method label: the path without its leading slash, e.g. `caravan.echo.v1.Echo/Unary`.
    static func label(_ descriptor: MethodDescriptor) -> String {
        "\(descriptor.service)/\(descriptor.method)"
    }

    /// Counts a call in; returns its method's instruments for ``callFinished(_:code:nanoseconds:)``.
    func callStarted(_ descriptor: MethodDescriptor) -> MethodInstruments {
        let instruments = self.methods.withLock { methods in
            if let instruments = methods[descriptor.path] { return instruments }
            let instruments = MethodInstruments(label: Self.label(descriptor), factory: self.factory)
            methods[descriptor.path] = instruments
            return instruments
        }
        instruments.started.increment()
        self.inFlight.increment()
        return instruments
    }

    func callFinished(_ instruments: MethodInstruments, code: StatusCode, nanoseconds: Int64) {
        self.inFlight.decrement()
        instruments.duration.recordNanoseconds(nanoseconds)
        instruments.handled(code).increment()
    }
}
