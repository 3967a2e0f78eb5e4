import CaravanCore

/// Calls an ``RPCRouter`` in the same process, with no wire: for tests of
/// services and clients. Deadlines and cancellation behave as on TCP.
public struct InProcessTransport: ClientTransport {
    public let router: RPCRouter

    public init(router: RPCRouter) {
        self.router = router
    }

    /// Builds a router serving `services`.
    public init(serving services: [any RPCService]) {
        var router = RPCRouter()
        for service in services { router.register(service) }
        self.router = router
    }

    private func route(_ descriptor: MethodDescriptor) throws -> RPCRouter.Route {
        guard let route = self.router.route(forPath: descriptor.path) else {
            throw RPCError(code: .unimplemented, message: "Unknown method \(descriptor.path).")
        }
        return route
    }

    private func context(_ descriptor: MethodDescriptor, _ options: ResolvedCallOptions) -> ServerContext {
        ServerContext(
            descriptor: descriptor,
            metadata: options.metadata,
            deadline: options.deadline,
            idempotencyKey: options.idempotencyKey,
            trace: options.trace
        )
    }

    public func unary(
        descriptor: MethodDescriptor,
        request: [UInt8],
        options: ResolvedCallOptions
    ) async throws -> [UInt8] {
        guard case .unary(let handler) = try self.route(descriptor).handler else {
            throw RPCError(code: .unimplemented, message: "\(descriptor.path) is not a unary method.")
        }
        let context = self.context(descriptor, options)
        let router = self.router
        return try await withDeadline(options.deadline) {
            // The handler runs without the caller's task-locals, as it would in a server.
            try await ServerContext.$current.withValue(nil) {
                try await router.handleUnary(handler, request: request, context: context).get()
            }
        }
    }

    public func streaming<Result: Sendable>(
        descriptor: MethodDescriptor,
        options: ResolvedCallOptions,
        requests: @escaping @Sendable (RawMessageWriter) async throws -> Void,
        responses: (RawMessageStream) async throws -> Result
    ) async throws -> Result {
        let route = try self.route(descriptor)
        let context = self.context(descriptor, options)
        let router = self.router
        let (requestStream, requestSink) = RawMessageStream.makeStream()
        let (responseStream, responseSink) = RawMessageStream.makeStream()
        let requestWriter = RawMessageWriter { bytes in requestSink.yield(bytes) }
        let responseWriter = RawMessageWriter { bytes in responseSink.yield(bytes) }

        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await requests(requestWriter)
                requestSink.finish()
            }
            group.addTask {
                do {
                    try await withDeadline(options.deadline) {
                        try await Self.serve(route.handler, router: router, context: context, requests: requestStream, writer: responseWriter, finish: responseSink)
                    }
                } catch {
                    responseSink.finish(throwing: RPCError(converting: error))
                }
            }
            let result = try await responses(responseStream)
            group.cancelAll()
            return result
        }
    }

    private static func serve(
        _ handler: RPCRouter.Handler,
        router: RPCRouter,
        context: ServerContext,
        requests: RawMessageStream,
        writer: RawMessageWriter,
        finish sink: RawMessageStream.Continuation
    ) async throws {
        let error = await router.handle(context: context) { context in
            switch handler {
            case .unary(let handler):
                var iterator = requests.makeAsyncIterator()
                guard let request = try await iterator.next() else {
                    throw RPCError(code: .invalidArgument, message: "No request message.")
                }
                try await writer.write(try await handler(request, context))
            case .serverStreaming(let handler):
                var iterator = requests.makeAsyncIterator()
                guard let request = try await iterator.next() else {
                    throw RPCError(code: .invalidArgument, message: "No request message.")
                }
                try await handler(request, writer, context)
            case .clientStreaming(let handler):
                try await writer.write(try await handler(requests, context))
            case .bidirectionalStreaming(let handler):
                try await handler(requests, writer, context)
            }
        }
        if let error { sink.finish(throwing: error) } else { sink.finish() }
    }
}

/// Runs `body`, cancelling it and throwing DEADLINE_EXCEEDED at `deadline`.
func withDeadline<T: Sendable>(
    _ deadline: ContinuousClock.Instant?,
    _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    guard let deadline else { return try await body() }
    return try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(until: deadline, clock: .continuous)
            throw RPCError(code: .deadlineExceeded, message: "The deadline passed before the call finished.")
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}
