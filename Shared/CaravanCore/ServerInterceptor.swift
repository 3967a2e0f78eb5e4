/// Runs around every call a server handles: logging, metrics, auth, tracing.
///
/// `next` runs the rest of the chain and the handler; it returns when the
/// call succeeded and throws the error the caller will see otherwise. An
/// interceptor may change the context it passes on, or throw to refuse.
public protocol ServerInterceptor: Sendable {
    func intercept(
        context: ServerContext,
        next: (ServerContext) async throws -> Void
    ) async throws
}

/// Runs around every call a client makes.
public protocol ClientInterceptor: Sendable {
    func intercept(
        descriptor: MethodDescriptor,
        options: ResolvedCallOptions,
        next: (ResolvedCallOptions) async throws -> Void
    ) async throws
}

extension Array where Element == any ServerInterceptor {
    /// Runs `body` inside every interceptor, the first one outermost.
    @inlinable
    func run(context: ServerContext, _ body: (ServerContext) async throws -> Void) async throws {
        try await self.run(from: self.startIndex, context: context, body)
    }

    @usableFromInline
    func run(
        from index: Int,
        context: ServerContext,
        _ body: (ServerContext) async throws -> Void
    ) async throws {
        if index == self.endIndex {
            try await body(context)
        } else {
            try await self[index].intercept(context: context) { context in
                try await self.run(from: index + 1, context: context, body)
            }
        }
    }
}

extension Array where Element == any ClientInterceptor {
    func run(
        descriptor: MethodDescriptor,
        options: ResolvedCallOptions,
        from index: Int = 0,
        _ body: (ResolvedCallOptions) async throws -> Void
    ) async throws {
        if index == self.endIndex {
            try await body(options)
        } else {
            try await self[index].intercept(descriptor: descriptor, options: options) { options in
                try await self.run(descriptor: descriptor, options: options, from: index + 1, body)
            }
        }
    }
}
