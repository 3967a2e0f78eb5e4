import CaravanCore

/// Admits only calls carrying the shared service token in
/// `x-caravan-service-token`: the gateway adds it, so a client that goes
/// around the gateway is refused UNAUTHENTICATED before any handler runs.
///
/// Health is exempt, so that probes (kubelet, systemd, `caravan health`)
/// work without the secret; it reveals only whether the service serves.
public struct ServiceTokenInterceptor: ServerInterceptor {
    /// The metadata key the token travels in.
    public static let metadataKey = "x-caravan-service-token"
    /// Services anyone may call.
    public static let exemptServices: Set<String> = ["caravan.health.v1.Health"]

    private let token: [UInt8]

    /// `token` must not be empty.
    public init(token: String) {
        precondition(!token.isEmpty, "an empty service token admits nobody")
        self.token = Array(token.utf8)
    }

    public func intercept(context: ServerContext, next: (ServerContext) async throws -> Void) async throws {
        if Self.exemptServices.contains(context.descriptor.service) {
            return try await next(context)
        }
        guard let presented = context.metadata.firstString(Self.metadataKey) else {
            throw RPCError(
                code: .unauthenticated,
                message: "This service accepts calls through the gateway only (no service token).")
        }
        guard Self.constantTimeEqual(Array(presented.utf8), self.token) else {
            throw RPCError(
                code: .unauthenticated,
                message: "This service accepts calls through the gateway only (wrong service token).")
        }
        var context = context
        // The handler has no use for the secret; keep it out of anything it logs or forwards.
        context.metadata.removeAll(Self.metadataKey)
        try await next(context)
    }

    /// Compares without returning early, so timing does not reveal how much of a guess was right.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = a.count ^ b.count
        for index in 0..<max(a.count, b.count) {
            let x = index < a.count ? a[index] : 0
            let y = index < b.count ? b[index] : 0
            difference |= Int(x ^ y)
        }
        return difference == 0
    }
}
