import CaravanCore
import CoreMetrics
import Logging
import PostgresNIO
import Synchronization

/// A ``PostgresPool``'s instruments: connections open and leased, callers
/// waiting for one and how long they waited, failed connection attempts,
/// failed calls by status, and replacements of a wedged pool.
///
/// postgres-nio keeps its pool's own counts internal, so these are taken
/// where the pool is used: a lease is counted around the body it runs, and
/// a connection is counted open from its first lease until its channel
/// closes. A connection the pool opened ahead (`minimumConnections`) shows
/// once it has served a call. Failed attempts to connect are read from the
/// pool's background log event, which postgres-nio emits at `info` for each
/// one (a test against an unreachable port keeps that honest).
public final class PostgresPoolMetrics: Sendable {
    /// Metric names; docs/OBSERVABILITY.md lists them with their labels.
    public enum Name {
        public static let connectionsOpen = "caravan_db_pool_connections_open"
        public static let connectionsInUse = "caravan_db_pool_connections_in_use"
        public static let connectionsMax = "caravan_db_pool_connections_max"
        public static let waiting = "caravan_db_pool_waiting"
        public static let acquireDuration = "caravan_db_pool_acquire_seconds"
        public static let connectFailures = "caravan_db_pool_connect_failures_total"
        public static let errors = "caravan_db_pool_errors_total"
        public static let replacements = "caravan_db_pool_replacements_total"
    }

    /// The message postgres-nio's pool logs for each failed attempt to connect.
    static let connectFailedMessage: Logger.Message = "Connection creation failed"

    private let factory: any MetricsFactory
    private let connectionsOpen: Gauge
    private let connectionsInUse: Meter
    private let waiting: Meter
    private let acquireDuration: CoreMetrics.Timer
    private let connectFailures: Counter
    private let replacements: Counter
    private let open = Mutex<Set<ObjectIdentifier>>([])
    private let errors = Mutex<[Counter?]>(Array(repeating: nil, count: StatusCode.allCases.count))

    public init(factory: any MetricsFactory = MetricsSystem.factory) {
        self.factory = factory
        self.connectionsOpen = Gauge(label: Name.connectionsOpen, dimensions: [], factory: factory)
        self.connectionsInUse = Meter(label: Name.connectionsInUse, dimensions: [], factory: factory)
        self.waiting = Meter(label: Name.waiting, dimensions: [], factory: factory)
        self.acquireDuration = CoreMetrics.Timer(label: Name.acquireDuration, dimensions: [], factory: factory)
        self.connectFailures = Counter(label: Name.connectFailures, dimensions: [], factory: factory)
        self.replacements = Counter(label: Name.replacements, dimensions: [], factory: factory)
        self.connectionsOpen.record(0)
        // The statuses a database failure maps to, exported at 0 from the
        // start: an alert on `increase()` misses the first failure of a
        // series that appears with it.
        for code in Self.databaseFailureCodes { _ = self.errorCounter(code) }
    }

    /// What ``RPCError/init(postgres:)`` makes of a PostgreSQL or pool failure.
    static let databaseFailureCodes: [RPCError.Code] = [
        .unavailable, .deadlineExceeded, .aborted, .alreadyExists, .internal, .cancelled,
    ]

    /// Records the pool's limit, so dashboards can show how full it is.
    func limit(_ maximumConnections: Int) {
        Gauge(label: Name.connectionsMax, dimensions: [], factory: self.factory).record(maximumConnections)
    }

    /// A caller starts waiting for a connection.
    func waitBegan() { self.waiting.increment() }

    /// A caller stops waiting: it got a connection (after `waited`), or it
    /// gave up (`waited` nil: timed out, cancelled, or the pool failed it).
    func waitEnded(waited: Duration?) {
        self.waiting.decrement()
        if let waited { self.acquireDuration.recordNanoseconds(waited.totalNanoseconds) }
    }

    /// `connection` was leased; counts it open if this is its first lease.
    func leased(_ connection: PostgresConnection) {
        self.connectionsInUse.increment()
        let id = ObjectIdentifier(connection)
        let first = self.open.withLock { open in
            let inserted = open.insert(id).inserted
            if inserted { self.connectionsOpen.record(open.count) }
            return inserted
        }
        guard first else { return }
        connection.closeFuture.whenComplete { _ in
            self.open.withLock { open in
                open.remove(id)
                self.connectionsOpen.record(open.count)
            }
        }
    }

    /// A leased connection went back to the pool.
    func released() { self.connectionsInUse.decrement() }

    /// A call on the database failed with `code`.
    func failed(_ code: RPCError.Code) {
        self.errorCounter(code).increment()
    }

    private func errorCounter(_ code: RPCError.Code) -> Counter {
        self.errors.withLock { counters in
            if let counter = counters[Int(code.rawValue)] { return counter }
            let counter = Counter(label: Name.errors, dimensions: [("code", code.status.name)], factory: self.factory)
            counters[Int(code.rawValue)] = counter
            return counter
        }
    }

    /// The pool was replaced by a fresh one.
    func replaced() { self.replacements.increment() }

    /// `logger` with a handler that also counts the pool's failed connection
    /// attempts; give it to the pool as its background logger.
    func counting(_ logger: Logger) -> Logger {
        var counting = logger
        counting.handler = ConnectFailureCountingHandler(wrapped: logger.handler) { [connectFailures] in
            connectFailures.increment()
        }
        return counting
    }
}

/// Passes every line on to the wrapped handler at its level, and counts
/// the pool's "connection creation failed" events, which arrive at `info`,
/// even when the wrapped handler's level would drop them.
struct ConnectFailureCountingHandler: LogHandler {
    var wrapped: any LogHandler
    let onConnectFailure: @Sendable () -> Void

    var logLevel: Logger.Level {
        get { min(self.wrapped.logLevel, .info) }
        set { self.wrapped.logLevel = newValue }
    }

    var metadata: Logger.Metadata {
        get { self.wrapped.metadata }
        set { self.wrapped.metadata = newValue }
    }

    var metadataProvider: Logger.MetadataProvider? {
        get { self.wrapped.metadataProvider }
        set { self.wrapped.metadataProvider = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { self.wrapped[metadataKey: key] }
        set { self.wrapped[metadataKey: key] = newValue }
    }

    func log(event: LogEvent) {
        if event.message == PostgresPoolMetrics.connectFailedMessage { self.onConnectFailure() }
        if event.level >= self.wrapped.logLevel { self.wrapped.log(event: event) }
    }
}
