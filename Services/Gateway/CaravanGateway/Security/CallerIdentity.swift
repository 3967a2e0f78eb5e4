/// Who is calling, as the gateway's admission decided: the token's subject
/// when auth is on, else the peer's address. Rate limits count per caller.
public struct CallerIdentity: Sendable, Hashable {
    public var key: String

    public init(key: String) { self.key = key }

    /// Set by ``GatewayAuthInterceptor`` for the rest of the call.
    @TaskLocal public static var current: CallerIdentity?

    /// The peer's host without its port (`127.0.0.1:53012` → `127.0.0.1`,
    /// `::1:53012` → `::1`), so that a client's many connections share one
    /// identity. The TCP server writes peers as `address:port`.
    public static func peerHost(_ peer: String) -> String {
        guard let colon = peer.lastIndex(of: ":"), colon > peer.startIndex else { return peer }
        let port = peer[peer.index(after: colon)...]
        guard !port.isEmpty, port.allSatisfy(\.isASCII), port.allSatisfy(\.isNumber) else { return peer }
        return String(peer[..<colon])
    }
}
