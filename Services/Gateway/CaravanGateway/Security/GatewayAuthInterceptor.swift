import CaravanAuth
import CaravanCore
import Foundation

/// Admits a call at the gateway only with a valid bearer token in
/// `authorization: Bearer <JWT>` carrying the scope its method needs
/// (``MethodAccess``). Missing, malformed, wrongly signed or expired →
/// UNAUTHENTICATED; valid but without the scope → PERMISSION_DENIED. Either
/// way the call never reaches a backend.
///
/// The token is taken out of the metadata before the call goes on: the
/// backends trust the gateway, not the client's token, and it must not
/// travel further than needed.
public struct GatewayAuthInterceptor: ServerInterceptor {
    private let signer: TokenSigner
    private let now: @Sendable () -> Date

    public init(signer: TokenSigner, now: @escaping @Sendable () -> Date = { Date() }) {
        self.signer = signer
        self.now = now
    }

    public func intercept(context: ServerContext, next: (ServerContext) async throws -> Void) async throws {
        var context = context
        let authorization = context.metadata.firstString("authorization")
        context.metadata.removeAll("authorization")
        guard case .scope(let needed) = MethodAccess.requirement(for: context.descriptor) else {
            return try await next(context)
        }
        let claims = try self.claims(from: authorization)
        guard claims.scopes.contains(needed) else {
            throw RPCError(
                code: .permissionDenied,
                message: "\(context.descriptor.path) needs the scope \(needed); the token grants '\(claims.scope)'.")
        }
        try await CallerIdentity.$current.withValue(CallerIdentity(key: "sub:" + claims.sub)) {
            try await next(context)
        }
    }

    /// The claims of the `authorization` value `Bearer <token>`, verified
    /// now; UNAUTHENTICATED otherwise. Public for Tests/Fuzz
    /// (HTTPDoorFuzzer): the header is a client's text.
    public func claims(from authorization: String?) throws -> TokenClaims {
        guard let authorization else {
            throw RPCError(
                code: .unauthenticated, message: "A bearer token is required (metadata authorization: Bearer <token>).")
        }
        let parts = authorization.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            throw RPCError(code: .unauthenticated, message: "The authorization metadata must read 'Bearer <token>'.")
        }
        do {
            return try self.signer.verify(String(parts[1]).trimmingCharacters(in: .whitespaces), now: self.now())
        } catch {
            throw RPCError(code: .unauthenticated, message: error.description)
        }
    }
}
