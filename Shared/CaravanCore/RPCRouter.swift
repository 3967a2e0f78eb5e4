/// Maps method paths to handlers and runs a call through the server's
/// interceptors. Transports hand it serialized messages; generated code
/// registers typed handlers.
public struct RPCRouter: Sendable {
    /// A handler working on serialized messages.
    public enum Handler: Sendable {
        case unary(@Sendable ([UInt8], ServerContext) async throws -> [UInt8])
        case serverStreaming(@Sendable ([UInt8], RawMessageWriter, ServerContext) async throws -> Void)
        case clientStreaming(@Sendable (RawMessageStream, ServerContext) async throws -> [UInt8])
        case bidirectionalStreaming(@Sendable (RawMessageStream, RawMessageWriter, ServerContext) async throws -> Void)

        public var kind: MethodKind {
            switch self {
            case .unary: return .unary
            case .serverStreaming: return .serverStreaming
            case .clientStreaming: return .clientStreaming
            case .bidirectionalStreaming: return .bidirectionalStreaming
            }
        }
    }

    /// One routed method.
    public struct Route: Sendable {
        public let descriptor: MethodDescriptor
        public let handler: Handler
    }

    private var routes: [String: Route] = [:]
    /// Schemas of the registered services, in registration order.
    public private(set) var services: [ServiceSchema] = []
    /// Run around every call, the first one outermost.
    public var interceptors: [any ServerInterceptor] = []
    /// Turns away unary calls over the server's adaptive limit before they
    /// start; the transport consults it where a call arrives.
    public var admission: AdmissionControl?

    public init() {}

    /// Registers every method of `service`.
    public mutating func register(_ service: some RPCService) {
        let schema = service.serviceSchema
        self.services.removeAll { $0.name == schema.name }
        self.services.append(schema)
        service.registerMethods(with: &self)
    }

    /// The route for a path such as `/caravan.echo.v1.Echo/Unary`.
    public func route(forPath path: String) -> Route? { self.routes[path] }

    /// Every routed path.
    public var paths: [String] { self.routes.keys.sorted() }

    /// Routes `descriptor` to a handler working on serialized messages
    /// (the gateway forwards calls this way without decoding them).
    public mutating func register(_ descriptor: MethodDescriptor, handler: Handler) {
        self.routes[descriptor.path] = Route(descriptor: descriptor, handler: handler)
    }

    public mutating func registerUnary<Input: ProtoMessage, Output: ProtoMessage>(
        _ descriptor: MethodDescriptor,
        input: Input.Type = Input.self,
        output: Output.Type = Output.self,
        handler: @escaping @Sendable (Input, ServerContext) async throws -> Output
    ) {
        self.register(
            descriptor,
            handler: .unary { bytes, context in
                let request = try decodeMessage(Input.self, from: bytes, failureCode: .invalidArgument)
                let response = try await handler(request, context)
                return try encodeMessage(response, failureCode: .internal)
            }
        )
    }

    public mutating func registerServerStreaming<Input: ProtoMessage, Output: ProtoMessage>(
        _ descriptor: MethodDescriptor,
        input: Input.Type = Input.self,
        output: Output.Type = Output.self,
        handler: @escaping @Sendable (Input, RPCWriter<Output>, ServerContext) async throws -> Void
    ) {
        self.register(
            descriptor,
            handler: .serverStreaming { bytes, writer, context in
                let request = try decodeMessage(Input.self, from: bytes, failureCode: .invalidArgument)
                try await handler(request, RPCWriter(raw: writer), context)
            }
        )
    }

    public mutating func registerClientStreaming<Input: ProtoMessage, Output: ProtoMessage>(
        _ descriptor: MethodDescriptor,
        input: Input.Type = Input.self,
        output: Output.Type = Output.self,
        handler: @escaping @Sendable (RPCAsyncSequence<Input>, ServerContext) async throws -> Output
    ) {
        self.register(
            descriptor,
            handler: .clientStreaming { stream, context in
                let requests = RPCAsyncSequence<Input>(raw: stream, decodeFailureCode: .invalidArgument)
                let response = try await handler(requests, context)
                return try encodeMessage(response, failureCode: .internal)
            }
        )
    }

    public mutating func registerBidirectionalStreaming<Input: ProtoMessage, Output: ProtoMessage>(
        _ descriptor: MethodDescriptor,
        input: Input.Type = Input.self,
        output: Output.Type = Output.self,
        handler: @escaping @Sendable (RPCAsyncSequence<Input>, RPCWriter<Output>, ServerContext) async throws -> Void
    ) {
        self.register(
            descriptor,
            handler: .bidirectionalStreaming { stream, writer, context in
                let requests = RPCAsyncSequence<Input>(raw: stream, decodeFailureCode: .invalidArgument)
                try await handler(requests, RPCWriter(raw: writer), context)
            }
        )
    }
}

extension RPCRouter {
    /// Runs a unary call: interceptors, then the handler, with the context
    /// bound to ``ServerContext/current`` and the deadline rules of
    /// ``ServerCallRules`` applied. Errors come back as `RPCError`.
    public func handleUnary(
        _ handler: @Sendable ([UInt8], ServerContext) async throws -> [UInt8],
        request: [UInt8],
        context: ServerContext
    ) async -> Result<[UInt8], RPCError> {
        if let refusal = ServerCallRules.refusal(context) { return .failure(refusal) }
        do {
            if self.interceptors.isEmpty {
                return .success(try await Self.runUnary(handler, request: request, context: context))
            }
            var response: [UInt8] = []
            try await self.interceptors.run(context: context) { context in
                response = try await Self.runUnary(handler, request: request, context: context)
            }
            return .success(response)
        } catch {
            return .failure(ServerCallRules.status(of: error, context: context))
        }
    }

    private static func runUnary(
        _ handler: @Sendable ([UInt8], ServerContext) async throws -> [UInt8],
        request: [UInt8],
        context: ServerContext
    ) async throws -> [UInt8] {
        let response = try await ServerContext.$current.withValue(context) {
            try await handler(request, context)
        }
        try ServerCallRules.checkFinishedInTime(context)
        return response
    }

    /// Runs any call through the interceptors with the context bound and the
    /// deadline rules applied; `body` runs the handler. Errors come back as
    /// `RPCError`.
    public func handle(
        context: ServerContext,
        _ body: (ServerContext) async throws -> Void
    ) async -> RPCError? {
        if let refusal = ServerCallRules.refusal(context) { return refusal }
        do {
            try await self.interceptors.run(context: context) { context in
                try await ServerContext.$current.withValue(context) {
                    try await body(context)
                }
                try ServerCallRules.checkFinishedInTime(context)
            }
            return nil
        } catch {
            return ServerCallRules.status(of: error, context: context)
        }
    }
}
