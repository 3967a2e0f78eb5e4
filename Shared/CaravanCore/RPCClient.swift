/// A client for one server (or one pool of replicas): typed calls over a
/// ``ClientTransport``, with deadlines, interceptors and retries.
///
/// Generated stubs (`EchoClient`, …) wrap it. A call made while serving
/// another call inherits that call's deadline and trace context. This is the
/// one place a call is tried again (``RetryRules``): transports below make
/// one attempt each and say whether it left.
public struct RPCClient: Sendable {
    public let transport: any ClientTransport
    public var interceptors: [any ClientInterceptor]
    /// Metadata, idempotency key and retry policy for calls that set none.
    public var defaultOptions: CallOptions
    /// The deadline of a call that has none (and inherits none): this long
    /// after it starts. `nil` leaves such calls unbounded.
    public var defaultTimeout: Duration?
    public var retryPolicy: RetryPolicy
    /// Shared by every call of this client (and its copies).
    public let retryThrottle: RetryThrottle
    /// Told of every retry and every retry the throttle refused (metrics).
    public var retryObserver: (@Sendable (RetryEvent) -> Void)?

    public init(
        transport: any ClientTransport,
        interceptors: [any ClientInterceptor] = [],
        defaultOptions: CallOptions = .defaults,
        defaultTimeout: Duration? = nil,
        retryPolicy: RetryPolicy = .defaults,
        retryThrottle: RetryThrottle = RetryThrottle(),
        retryObserver: (@Sendable (RetryEvent) -> Void)? = nil
    ) {
        self.transport = transport
        self.interceptors = interceptors
        self.defaultOptions = defaultOptions
        self.defaultTimeout = defaultTimeout
        self.retryPolicy = retryPolicy
        self.retryThrottle = retryThrottle
        self.retryObserver = retryObserver
    }

    /// What the retry loop did, for metrics.
    public enum RetryEvent: Sendable {
        case retried(MethodDescriptor, RPCError)
        case throttled(MethodDescriptor, RPCError)
    }

    /// Settles the deadline (own vs the served call's), metadata and trace
    /// context for one call.
    public func resolve(_ options: CallOptions) -> ResolvedCallOptions {
        let inherited = ServerContext.current
        let start = ContinuousClock.now
        var deadline =
            options.deadline(startingAt: start) ?? self.defaultOptions.deadline(startingAt: start)
            ?? self.defaultTimeout.map { start.advanced(by: $0) }
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
        let policy = options.retryPolicy ?? self.defaultOptions.retryPolicy ?? self.retryPolicy
        var attempt = 1
        while true {
            do {
                let response = try await self.attempt(descriptor: descriptor, request: request, options: resolved)
                self.retryThrottle.recordSuccess()
                return response
            } catch {
                let error = RPCError(converting: error)
                if error.code == .unavailable || error.pushback != nil {
                    self.retryThrottle.recordFailure()
                } else {
                    self.retryThrottle.recordSuccess()
                }
                switch RetryRules.decide(
                    after: error, attempt: attempt, policy: policy, options: resolved, throttle: self.retryThrottle)
                {
                case .fail:
                    throw error
                case .throttled:
                    self.retryObserver?(.throttled(descriptor, error))
                    throw error
                case .retry(let pause):
                    self.retryObserver?(.retried(descriptor, error))
                    attempt += 1
                    try await Task.sleep(for: pause)
                }
            }
        }
    }

    private func attempt(
        descriptor: MethodDescriptor,
        request: [UInt8],
        options: ResolvedCallOptions
    ) async throws -> [UInt8] {
        try options.checkDeadline(before: descriptor)
        if self.interceptors.isEmpty {
            return try await self.transport.unary(descriptor: descriptor, request: request, options: options)
        }
        var response: [UInt8] = []
        try await self.interceptors.run(descriptor: descriptor, options: options) { options in
            response = try await self.transport.unary(descriptor: descriptor, request: request, options: options)
        }
        return response
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
        try resolved.checkDeadline(before: descriptor)
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
