import CaravanCore
import NIOCore

/// Limits and timers of a TCP server. Every limit is enforced with a
/// status the caller can act on.
public struct ServerConfiguration: Sendable {
    /// Address to bind, e.g. `127.0.0.1`, `0.0.0.0` or `::1`.
    public var host: String
    /// Port to bind; 0 picks a free one.
    public var port: Int
    /// Largest frame accepted (counted as the length field counts); larger
    /// requests are answered RESOURCE_EXHAUSTED without being buffered.
    public var maxFrameSize: Int
    /// Calls open at once on one connection; more get RESOURCE_EXHAUSTED.
    public var maxConcurrentCallsPerConnection: Int
    /// Connections open at once; more are sent GOAWAY and closed.
    public var maxConnections: Int
    /// Bytes of request metadata (keys plus values) a call may carry.
    public var maxMetadataSize: Int
    /// Time a started frame has to arrive completely.
    public var frameTimeout: Duration
    /// A connection with no calls for this long is closed (GOAWAY first).
    public var idleTimeout: Duration
    /// Silence after which the server pings the client.
    public var keepaliveInterval: Duration
    /// Time a ping has to be answered before the peer is deemed dead.
    public var keepaliveTimeout: Duration
    /// On graceful shutdown, time in-flight calls have to finish.
    public var shutdownGracePeriod: Duration
    /// Where handlers run.
    public var handlerExecution: HandlerExecution
    /// TLS on every connection; nil serves plaintext.
    public var tls: ServerTLS? = nil
    /// The adaptive limit on unary calls running at once across all
    /// connections and doors (``AdmissionControl``, which `RPCServer` puts
    /// on its router); nil turns admission control off.
    public var admission: AdaptiveConcurrencyLimit.Configuration? = .defaults

    /// Where a server runs its handlers.
    public enum HandlerExecution: String, Sendable, CaseIterable {
        /// Swift's global concurrent executor: right for handlers that block
        /// or compute for long (database work, route searches).
        case global
        /// The connection's event loop thread: no thread hand-offs per call;
        /// only for handlers that never block for longer than a few
        /// microseconds (echo, in-memory lookups, a SQLite point read) and
        /// hand longer work to other threads. Deadlines, refusals and
        /// cancellation follow the same rules as under `global`.
        case eventLoop = "event-loop"
    }

    public init(
        host: String = "127.0.0.1",
        port: Int = 0,
        maxFrameSize: Int = 4 * 1024 * 1024,
        maxConcurrentCallsPerConnection: Int = 1024,
        maxConnections: Int = 4096,
        maxMetadataSize: Int = 16 * 1024,
        frameTimeout: Duration = .seconds(10),
        idleTimeout: Duration = .seconds(300),
        keepaliveInterval: Duration = .seconds(30),
        keepaliveTimeout: Duration = .seconds(10),
        shutdownGracePeriod: Duration = .seconds(10),
        handlerExecution: HandlerExecution = .global
    ) {
        self.handlerExecution = handlerExecution
        self.host = host
        self.port = port
        self.maxFrameSize = maxFrameSize
        self.maxConcurrentCallsPerConnection = maxConcurrentCallsPerConnection
        self.maxConnections = maxConnections
        self.maxMetadataSize = maxMetadataSize
        self.frameTimeout = frameTimeout
        self.idleTimeout = idleTimeout
        self.keepaliveInterval = keepaliveInterval
        self.keepaliveTimeout = keepaliveTimeout
        self.shutdownGracePeriod = shutdownGracePeriod
    }

    public static var defaults: ServerConfiguration { ServerConfiguration() }

    /// How long a connection ended by a GOAWAY waits for its peer to close.
    static let lingerAfterGoAway = TimeAmount.seconds(1)

    var limits: ServerConnectionStateMachine<ServerCallHandle>.Limits {
        .init(
            maxConcurrentCalls: self.maxConcurrentCallsPerConnection, maxMetadataSize: self.maxMetadataSize,
            maxFrameSize: self.maxFrameSize)
    }
}
