import CaravanCore

/// Serves every method of a backend's schema by forwarding the serialized
/// messages to that backend's pool, without decoding them.
///
/// The calls go through the backend's ``RPCClient`` inside the served call,
/// so they inherit its deadline and trace context, and are retried as
/// ``RetryRules`` allow; metadata and the idempotency key are handed on as
/// received.
public struct ForwardingService: RPCService {
    public let serviceSchema: ServiceSchema
    private let client: RPCClient

    public init(schema: ServiceSchema, client: RPCClient) {
        self.serviceSchema = schema
        self.client = client
    }

    /// Forwards to `transport` with the default retry policy.
    public init(schema: ServiceSchema, transport: any ClientTransport) {
        self.init(schema: schema, client: RPCClient(transport: transport))
    }

    public func registerMethods(with router: inout RPCRouter) {
        for method in self.serviceSchema.methods {
            router.register(method.descriptor, handler: self.handler(for: method))
        }
    }

    static func options(from context: ServerContext) -> CallOptions {
        CallOptions(metadata: context.metadata, idempotencyKey: context.idempotencyKey)
    }

    private func handler(for method: MethodSchema) -> RPCRouter.Handler {
        let client = self.client
        let descriptor = method.descriptor
        switch method.kind {
        case .unary:
            return .unary { request, context in
                try await client.unary(descriptor: descriptor, request: request, options: Self.options(from: context))
            }
        case .serverStreaming:
            return .serverStreaming { request, writer, context in
                try await client.streaming(
                    descriptor: descriptor, options: Self.options(from: context),
                    requests: { upstream in try await upstream.write(request) },
                    responses: { stream in for try await message in stream { try await writer.write(message) } }
                )
            }
        case .clientStreaming:
            return .clientStreaming { requests, context in
                try await client.streaming(
                    descriptor: descriptor, options: Self.options(from: context),
                    requests: { upstream in for try await message in requests { try await upstream.write(message) } },
                    responses: { stream in
                        var iterator = stream.makeAsyncIterator()
                        guard let response = try await iterator.next() else {
                            throw RPCError(code: .internal, message: "\(descriptor.path) ended without a response.")
                        }
                        return response
                    }
                )
            }
        case .bidirectionalStreaming:
            return .bidirectionalStreaming { requests, writer, context in
                try await client.streaming(
                    descriptor: descriptor, options: Self.options(from: context),
                    requests: { upstream in for try await message in requests { try await upstream.write(message) } },
                    responses: { stream in for try await message in stream { try await writer.write(message) } }
                )
            }
        }
    }
}
