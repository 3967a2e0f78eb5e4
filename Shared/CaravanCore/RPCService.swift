/// A service a server can host. Generated service protocols refine it and
/// implement both requirements; a service is a plain struct conforming to
/// its generated protocol.
public protocol RPCService: Sendable {
    /// The service's schema, generated from its `.proto` file.
    var serviceSchema: ServiceSchema { get }
    /// Adds a route per method.
    func registerMethods(with router: inout RPCRouter)
}
