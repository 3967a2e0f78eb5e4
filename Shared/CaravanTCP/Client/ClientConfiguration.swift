/// Connections, timers and limits of a TCP client.
public struct ClientConfiguration: Sendable {
    /// Connections kept open to one endpoint; calls spread over them.
    public var connectionsPerEndpoint: Int
    /// Time one connection attempt may take.
    public var connectTimeout: Duration
    /// Pause after the first failed attempt; it grows by `backoffMultiplier`
    /// up to `maxBackoff`, each pause jittered by ±`backoffJitter`.
    public var initialBackoff: Duration
    public var maxBackoff: Duration
    public var backoffMultiplier: Double
    public var backoffJitter: Double
    /// Largest frame accepted from the server.
    public var maxFrameSize: Int
    /// Time a started frame has to arrive completely.
    public var frameTimeout: Duration
    /// Silence after which the client pings the server.
    public var keepaliveInterval: Duration
    /// Time a ping has to be answered before the connection is deemed dead.
    public var keepaliveTimeout: Duration
    /// TLS on every connection; nil connects in plaintext.
    public var tls: ClientTLS? = nil

    public init(
        connectionsPerEndpoint: Int = 1,
        connectTimeout: Duration = .seconds(5),
        initialBackoff: Duration = .milliseconds(100),
        maxBackoff: Duration = .seconds(5),
        backoffMultiplier: Double = 1.6,
        backoffJitter: Double = 0.2,
        maxFrameSize: Int = 4 * 1024 * 1024,
        frameTimeout: Duration = .seconds(10),
        keepaliveInterval: Duration = .seconds(30),
        keepaliveTimeout: Duration = .seconds(10)
    ) {
        self.connectionsPerEndpoint = max(1, connectionsPerEndpoint)
        self.connectTimeout = connectTimeout
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
        self.backoffMultiplier = backoffMultiplier
        self.backoffJitter = backoffJitter
        self.maxFrameSize = maxFrameSize
        self.frameTimeout = frameTimeout
        self.keepaliveInterval = keepaliveInterval
        self.keepaliveTimeout = keepaliveTimeout
    }

    public static var defaults: ClientConfiguration { ClientConfiguration() }

    /// The pause before reconnect attempt `failures` (1, 2, …).
    func backoff(afterFailures failures: Int) -> Duration {
        var pause = self.initialBackoff
        for _ in 1..<max(1, failures) {
            pause = pause * self.backoffMultiplier
            if pause >= self.maxBackoff { break }
        }
        pause = min(pause, self.maxBackoff)
        return pause * Double.random(in: (1 - self.backoffJitter)...(1 + self.backoffJitter))
    }
}
