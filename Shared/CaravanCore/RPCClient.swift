/// A client for one server (or one pool of replicas): typed calls over a
/// ``ClientTransport``, with deadlines, interceptors and retries.
///
/// Generated stubs (`EchoClient`, …) wrap it. A call made while serving
/// another call inherits that call's deadline and trace context.
public struct RPCClient: Sendable {
    public let transport: any ClientTransport
    public var interceptors: [any ClientInterceptor]
    public var defaultOptions: CallOptions
    public var retryPolicy: RetryPolicy

    public init(
        transport: any ClientTransport,
        interceptors: [any ClientInterceptor] = [],
        defaultOptions: CallOptions = .defaults,
        retryPolicy: RetryPolicy = .defaults
    ) {
        self.transport = transport
        self.interceptors = interceptors
        self.defaultOptions = defaultOptions
        self.retryPolicy = retryPolicy
    }

    /// Settles the deadline (own timeout vs the served call's deadline),
    /// metadata and trace context for one call.
    public func resolve(_ options: CallOptions) -> ResolvedCallOptions {
        let inherited = ServerContext.current
        var deadline = (options.timeout ?? self.defaultOptions.timeout).map { ContinuousClock.now.advanced(by: $0) }
        if let parentDeadline = inherited?.deadline {
            deadline = deadline.map { min($0, parentDeadline) } ?? parentDeadline
        }
        var metadata = self.defaultOptions.metadata
        for element in options.metadata { metadata.add(element) }
        return ResolvedCallOptions(
            deadline: deadline,
            metadata: metadata,
            idempotencyKey: options.idempotencyKey ?? self.defaultOptions.idempotencyKey,
            trace: inherited?.trace
        )
    }

    /// A unary call on serialized messages (the gateway forwards this way).
    public func unary(
        descriptor: MethodDescriptor,
        request: [UInt8],
        options: CallOptions = .defaults
    ) async throws -> [UInt8] {
        let resolved = self.resolve(options)
        let policy = options.retryPolicy ?? self.retryPolicy
        var attempt = 1
        while true {
            do {
                return try await self.unaryOnce(descriptor: descriptor, request: request, options: resolved)
            } catch let error as RPCError {
                guard attempt < policy.maxAttempts, Self.mayRetry(error, options: resolved, policy: policy) else {
                    throw error
                }
                attempt += 1
                let pause = policy.backoff(beforeAttempt: attempt)
                if let deadline = resolved.deadline, ContinuousClock.now.advanced(by: pause) >= deadline {
                    throw error
                }
                try await Task.sleep(for: pause)
            }
        }
    }

    private func unaryOnce(
        descriptor: MethodDescriptor,
        request: [UInt8],
        options: ResolvedCallOptions
    ) async throws -> [UInt8] {
        if let deadline = options.deadline, deadline <= .now {
            throw RPCError(
                code: .deadlineExceeded,
                message: "The deadline passed before \(descriptor.path) was sent.",
                cause: CallNeverSent("deadline already passed")
            )
        }
        if self.interceptors.isEmpty {
            return try await self.transport.unary(descriptor: descriptor, request: request, options: options)
        }
        var response: [UInt8] = []
        try await self.interceptors.run(descriptor: descriptor, options: options) { options in
            response = try await self.transport.unary(descriptor: descriptor, request: request, options: options)
        }
        return response
    }

    /// A retry is safe when the call never reached a server, or when it
    /// carries an idempotency key and failed with a retryable code.
    static func mayRetry(_ error: RPCError, options: ResolvedCallOptions, policy: RetryPolicy) -> Bool {
        if error.neverSent && error.code == .unavailable { return true }
        return options.idempotencyKey != nil && policy.retryableCodes.contains(error.code)
    }

    /// A typed unary call.
    public func unary<Input: ProtoMessage, Output: ProtoMessage>(
        request: Input,
        descriptor: MethodDescriptor,
        responseType: Output.Type = Output.self,
        options: CallOptions = .defaults
    ) async throws -> Output {
        let bytes = try encodeMessage(request, failureCode: .invalidArgument)
        let response = try await self.unary(descriptor: descriptor, request: bytes, options: options)
        return try decodeMessage(Output.self, from: response, failureCode: .internal)
    }

    /// A streaming call on serialized messages.
    public func streaming<Result: Sendable>(
        descriptor: MethodDescriptor,
        options: CallOptions = .defaults,
        requests: @escaping @Sendable (RawMessageWriter) async throws -> Void,
        responses: (RawMessageStream) async throws -> Result
    ) async throws -> Result {
        let resolved = self.resolve(options)
        if let deadline = resolved.deadline, deadline <= .now {
            throw RPCError(code: .deadlineExceeded, message: "The deadline passed before \(descriptor.path) was sent.")
        }
        if self.interceptors.isEmpty {
            return try await self.transport.streaming(
                descriptor: descriptor, options: resolved, requests: requests, responses: responses)
        }
        var result: Result?
        try await self.interceptors.run(descriptor: descriptor, options: resolved) { options in
            result = try await self.transport.streaming(
                descriptor: descriptor, options: options, requests: requests, responses: responses)
        }
        return result!
    }

    /// A typed server-streaming call: one request, `body` reads the responses.
    public func serverStreaming<Input: ProtoMessage, Output: ProtoMessage, Result: Sendable>(
        request: Input,
        descriptor: MethodDescriptor,
        responseType: Output.Type = Output.self,
        options: CallOptions = .defaults,
        onResponse body: (RPCAsyncSequence<Output>) async throws -> Result
    ) async throws -> Result {
        let bytes = try encodeMessage(request, failureCode: .invalidArgument)
        return try await self.streaming(
            descriptor: descriptor,
            options: options,
            requests: { writer in try await writer.write(bytes) },
            responses: { stream in try await body(RPCAsyncSequence(raw: stream, decodeFailureCode: .internal)) }
        )
    }

    /// A typed client-streaming call: `requests` writes, one response.
    public func clientStreaming<Input: ProtoMessage, Output: ProtoMessage>(
        descriptor: MethodDescriptor,
        requestType: Input.Type = Input.self,
        responseType: Output.Type = Output.self,
        options: CallOptions = .defaults,
        requests: @escaping @Sendable (RPCWriter<Input>) async throws -> Void
    ) async throws -> Output {
        try await self.streaming(
            descriptor: descriptor,
            options: options,
            requests: { writer in try await requests(RPCWriter(raw: writer)) },
            responses: { stream in
                var iterator = RPCAsyncSequence<Output>(raw: stream, decodeFailureCode: .internal).makeAsyncIterator()
                guard let response = try await iterator.next() else {
                    throw RPCError(code: .internal, message: "\(descriptor.path) ended without a response.")
                }
                return response
            }
        )
    }

    /// A typed bidirectional-streaming call.
    public func bidirectionalStreaming<Input: ProtoMessage, Output: ProtoMessage, Result: Sendable>(
        descriptor: MethodDescriptor,
        requestType: Input.Type = Input.self,
        responseType: Output.Type = Output.self,
        options: CallOptions = .defaults,
        requests: @escaping @Sendable (RPCWriter<Input>) async throws -> Void,
        onResponse body: (RPCAsyncSequence<Output>) async throws -> Result
    ) async throws -> Result {
        try await self.streaming(
            descriptor: descriptor,
            options: options,
            requests: { writer in try await requests(RPCWriter(raw: writer)) },
            responses: { stream in try await body(RPCAsyncSequence(raw: stream, decodeFailureCode: .internal)) }
        )
    }
}
