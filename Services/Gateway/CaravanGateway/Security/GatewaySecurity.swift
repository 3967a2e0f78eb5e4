import CaravanAuth
import CaravanCore

/// The gateway's admission and trust settings. TLS lives with the
/// connections it secures: `GatewaySettings.server.tls` for clients,
/// `GatewaySettings.client.tls` for the backends.
public struct GatewaySecurity: Sendable {
    /// Verifies bearer tokens; nil turns authentication off.
    public var tokenSigner: TokenSigner?
    /// Calls per second and burst per caller; nil: no limit.
    public var rateLimit: RateLimit?
    /// Sent to the backends with every call; nil sends none.
    public var serviceToken: String?

    public struct RateLimit: Sendable, Equatable {
        public var rate: Double
        public var burst: Int
        public init(rate: Double, burst: Int) {
            self.rate = rate
            self.burst = burst
        }
    }

    public init(tokenSigner: TokenSigner? = nil, rateLimit: RateLimit? = nil, serviceToken: String? = nil) {
        self.tokenSigner = tokenSigner
        self.rateLimit = rateLimit
        self.serviceToken = serviceToken
    }

    /// Authentication first (it names the caller), then the rate limit.
    public func makeInterceptors() -> [any ServerInterceptor] {
        var interceptors: [any ServerInterceptor] = []
        if let tokenSigner { interceptors.append(GatewayAuthInterceptor(signer: tokenSigner)) }
        if let rateLimit {
            interceptors.append(
                RateLimitInterceptor(limiter: RateLimiter(rate: rateLimit.rate, burst: rateLimit.burst)))
        }
        return interceptors
    }
}
