import CaravanCore

/// Refuses a caller's calls past its rate with RESOURCE_EXHAUSTED and the
/// trailing metadata `retry-after-ms`: how long until a call would pass.
/// The caller is the token's subject (``CallerIdentity``), or the peer's
/// address when auth is off. Health is not counted: probes must not be
/// starved by, or starve, a client.
public struct RateLimitInterceptor: ServerInterceptor {
    private let limiter: RateLimiter

    public init(limiter: RateLimiter) { self.limiter = limiter }

    public func intercept(context: ServerContext, next: (ServerContext) async throws -> Void) async throws {
        if MethodAccess.requirement(for: context.descriptor) == .open { return try await next(context) }
        let caller = CallerIdentity.current?.key ?? "peer:" + CallerIdentity.peerHost(context.peer)
        if case .refused(let retryAfter) = self.limiter.acquire(caller) {
            let milliseconds = (retryAfter.totalMicroseconds + 999) / 1000
            throw RPCError(
                code: .resourceExhausted,
                message:
                    "Rate limit of \(self.limiter.rate) calls/s (burst \(self.limiter.burst)) exceeded; retry in \(milliseconds) ms.",
                metadata: [RPCError.retryAfterKey: .string(String(milliseconds))])
        }
        try await next(context)
    }
}
