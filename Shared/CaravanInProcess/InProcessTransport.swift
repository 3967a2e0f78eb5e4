import CaravanCore
import Synchronization

/// A server transport and a client transport joined in one process, with no
/// wire: for tests of services and clients. Calls run through the served
/// router with the same deadline rules, cancellation and interceptors as on
/// TCP (the router applies ``ServerCallRules``; the deadline is enforced by
/// ``withDeadline(_:_:)`` since there is no connection timer).
public final class InProcessTransport: ServerTransport, ClientTransport {
    private let state: Mutex<State>

    private struct State {
        var router: RPCRouter?
        var isShutdown = false
        var stopped: [CheckedContinuation<Void, Never>] = []
    }

    /// A transport that serves nothing until ``serve(_:)`` is called.
    public init() {
        self.state = Mutex(State())
    }

    /// A transport already serving `router`.
    public init(router: RPCRouter) {
        self.state = Mutex(State(router: router))
    }

    /// A transport already serving `services`.
    public convenience init(serving services: [any RPCService]) {
        var router = RPCRouter()
        for service in services { router.register(service) }
        self.init(router: router)
    }

    // MARK: ServerTransport

    public func serve(_ router: RPCRouter) async throws {
        await withCheckedContinuation { continuation in
            let stopped = self.state.withLock { state -> Bool in
                state.router = router
                if state.isShutdown { return true }
                state.stopped.append(continuation)
                return false
            }
            if stopped { continuation.resume() }
        }
    }

    public func beginGracefulShutdown() {
        let waiting = self.state.withLock { state in
            state.isShutdown = true
            defer { state.stopped = [] }
            return state.stopped
        }
        for continuation in waiting { continuation.resume() }
    }

    // MARK: ClientTransport

    private func route(_ descriptor: MethodDescriptor) throws -> (RPCRouter, RPCRouter.Route) {
        let router = self.state.withLock { $0.isShutdown ? nil : $0.router }
        guard let router else {
            throw RPCError(code: .unavailable, message: "Nothing is served in process.", cause: CallNeverSent("not serving"))
        }
        guard let route = router.route(forPath: descriptor.path) else {
            throw RPCError(code: .unimplemented, message: "Unknown method \(descriptor.path).")
        }
        return (router, route)
    }

    private func context(_ descriptor: MethodDescriptor, _ options: ResolvedCallOptions) -> ServerContext {
        ServerContext(
            descriptor: descriptor, metadata: options.metadata, deadline: options.deadline,
            idempotencyKey: options.idempotencyKey, trace: options.trace)
    }

    public func unary(descriptor: MethodDescriptor, request: [UInt8], options: ResolvedCallOptions) async throws -> [UInt8] {
        let (router, route) = try self.route(descriptor)
        guard case .unary(let handler) = route.handler else {
            throw RPCError(code: .unimplemented, message: "\(descriptor.path) is not a unary method.")
        }
        let context = self.context(descriptor, options)
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
        let (router, route) = try self.route(descriptor)
        let context = self.context(descriptor, options)
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
                        let error = await router.handle(context: context) { context in
                            try await Self.run(route.handler, context: context, requests: requestStream, writer: responseWriter)
                        }
                        if let error { throw error }
                    }
                    responseSink.finish()
                } catch {
                    responseSink.finish(throwing: RPCError(converting: error))
                }
            }
            let result = try await responses(responseStream)
            group.cancelAll()
            return result
        }
    }

    private static func run(
        _ handler: RPCRouter.Handler, context: ServerContext, requests: RawMessageStream, writer: RawMessageWriter
    ) async throws {
        switch handler {
        case .unary(let handler):
            try await writer.write(try await handler(try await Self.single(requests), context))
        case .serverStreaming(let handler):
            try await handler(try await Self.single(requests), writer, context)
        case .clientStreaming(let handler):
            try await writer.write(try await handler(requests, context))
        case .bidirectionalStreaming(let handler):
            try await handler(requests, writer, context)
        }
    }

    private static func single(_ requests: RawMessageStream) async throws -> [UInt8] {
        var iterator = requests.makeAsyncIterator()
        guard let request = try await iterator.next() else {
            throw RPCError(code: .invalidArgument, message: "No request message.")
        }
        return request
    }
}
