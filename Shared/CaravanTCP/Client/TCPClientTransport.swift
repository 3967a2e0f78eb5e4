import CaravanCore
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Calls servers over the Caravan wire protocol: a ``ReplicaPool`` whose
/// replicas are the connections to each endpoint (one server, or the
/// replicas of a backend).
///
/// `run()` keeps the connections up. A call goes to a ready connection; one
/// that finds none waits at most the connect timeout (or its deadline) and
/// then fails UNAVAILABLE (or DEADLINE_EXCEEDED): it never hangs. While every
/// connection attempt is failing, calls fail at once, saying why. Each call
/// is one attempt: ``RPCClient`` retries.
public final class TCPClientTransport: ClientTransport, Sendable {
    public let pool: ReplicaPool
    public let configuration: ClientConfiguration
    private let channels: NIOLockedValueBox<[Endpoint: EndpointConnections]>

    public init(
        endpoints: [Endpoint],
        name: String? = nil,
        configuration: ClientConfiguration = .defaults,
        pool: ReplicaPoolConfiguration? = nil,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) {
        let channels = NIOLockedValueBox<[Endpoint: EndpointConnections]>([:])
        self.channels = channels
        self.configuration = configuration
        self.pool = ReplicaPool(
            name: name ?? endpoints.map(\.description).joined(separator: ","), endpoints: endpoints,
            configuration: pool ?? ReplicaPoolConfiguration(connectionWait: configuration.connectTimeout)
        ) { endpoint, readinessChanged in
            let channel = EndpointConnections(
                endpoint: endpoint, configuration: configuration, group: group, readinessChanged: readinessChanged)
            channels.withLockedValue { $0[endpoint] = channel }
            return channel
        }
    }

    /// A client of one server.
    public convenience init(
        host: String, port: Int, configuration: ClientConfiguration = .defaults,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) {
        self.init(endpoints: [Endpoint(host: host, port: port)], configuration: configuration, group: group)
    }

    /// The connections to one endpoint, for a pool of replicas made elsewhere
    /// (the gateway's): kept up by its `run()`, reporting its readiness.
    public static func channel(
        to endpoint: Endpoint, configuration: ClientConfiguration = .defaults,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        readinessChanged: @escaping @Sendable (ReplicaReadiness) -> Void
    ) -> any ReplicaChannel {
        EndpointConnections(
            endpoint: endpoint, configuration: configuration, group: group, readinessChanged: readinessChanged)
    }

    /// The event loops of the connections ready now (for callers that want
    /// to run on them, e.g. a load generator).
    public var readyEventLoops: [any EventLoop] {
        self.channels.withLockedValue { channels in
            channels.values.flatMap(\.readyEventLoops)
        }
    }

    /// Keeps the connections up until ``close()`` or task cancellation.
    public func run() async { await self.pool.run() }

    /// Stops reconnecting, fails waiting calls, and closes every connection
    /// once its open calls have finished.
    public func close() { self.pool.close() }

    public func unary(descriptor: MethodDescriptor, request: [UInt8], options: ResolvedCallOptions) async throws -> [UInt8] {
        try await self.pool.unary(descriptor: descriptor, request: request, options: options)
    }

    public func streaming<Result: Sendable>(
        descriptor: MethodDescriptor, options: ResolvedCallOptions,
        requests: @escaping @Sendable (RawMessageWriter) async throws -> Void,
        responses: (RawMessageStream) async throws -> Result
    ) async throws -> Result {
        try await self.pool.streaming(descriptor: descriptor, options: options, requests: requests, responses: responses)
    }
}
