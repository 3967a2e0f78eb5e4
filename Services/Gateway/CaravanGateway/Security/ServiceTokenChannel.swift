import CaravanCore
import CaravanServer

/// A replica's channel that sends the shared service token with every call
/// the gateway makes to it (forwarded, aggregate, health check), and never a
/// token a client supplied: the backends admit the gateway only.
public struct ServiceTokenChannel: ReplicaChannel {
    public let base: any ReplicaChannel
    /// nil: no token is sent (but a client's is still removed).
    private let token: String?

    public init(_ base: any ReplicaChannel, token: String?) {
        self.base = base
        self.token = token
    }

    public func stamped(_ options: ResolvedCallOptions) -> ResolvedCallOptions {
        var options = options
        options.metadata.removeAll(ServiceTokenInterceptor.metadataKey)
        options.metadata.removeAll("authorization")
        if let token { options.metadata.addString(token, forKey: ServiceTokenInterceptor.metadataKey) }
        return options
    }

    public func unary(descriptor: MethodDescriptor, request: [UInt8], options: ResolvedCallOptions) async throws -> [UInt8] {
        try await self.base.unary(descriptor: descriptor, request: request, options: self.stamped(options))
    }

    public func streaming<Result: Sendable>(
        descriptor: MethodDescriptor,
        options: ResolvedCallOptions,
        requests: @escaping @Sendable (RawMessageWriter) async throws -> Void,
        responses: (RawMessageStream) async throws -> Result
    ) async throws -> Result {
        try await self.base.streaming(
            descriptor: descriptor, options: self.stamped(options), requests: requests, responses: responses)
    }

    public func run() async { await self.base.run() }
    public func close() { self.base.close() }
    public func connect() { self.base.connect() }
}
