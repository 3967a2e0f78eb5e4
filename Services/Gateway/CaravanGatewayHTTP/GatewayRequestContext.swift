import Hummingbird
import NIOCore

/// The HTTP door's request context: Hummingbird's core storage and the
/// client's address. Calls carry the address as their peer, as calls over
/// TCP do, so that logs name the client and callers without a token are
/// rate-limited one by one rather than sharing one bucket.
public struct GatewayRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
    }

    /// `address:port`, the form the TCP server gives peers; "http" when unknown.
    var peer: String {
        guard let address = self.remoteAddress, let ip = address.ipAddress else { return "http" }
        return "\(ip):\(address.port ?? 0)"
    }
}
