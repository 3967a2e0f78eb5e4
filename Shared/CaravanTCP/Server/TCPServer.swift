import Atomics
import CaravanCore
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Serves a router over the Caravan wire protocol on TCP: the
/// ``ServerTransport`` of every Caravan server.
///
/// ``serve(_:)`` binds, accepts connections and returns once the server has
/// shut down; ``beginGracefulShutdown()`` stops accepting, sends GOAWAY on
/// every connection and lets open calls finish within the grace period.
public final class TCPServer: ServerTransport {
    public let configuration: ServerConfiguration
    private let group: any EventLoopGroup
    private let logger: Logger
    private let state = NIOLockedValueBox(State())
    private let bound = NIOLockedValueBox<BoundState>(.notYet([]))
    private let openConnections = ManagedAtomic<Int>(0)
    private let metrics: TransportMetrics?

    private struct State {
        var listener: (any Channel)?
        var connections: [ObjectIdentifier: AcceptedConnection] = [:]
        var shuttingDown = false
    }

    private enum BoundState {
        case notYet([CheckedContinuation<SocketAddress, any Error>])
        case bound(SocketAddress)
        case failed(any Error)
    }

    public init(
        configuration: ServerConfiguration = .defaults,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "caravan.tcp.server"),
        metrics: TransportMetrics? = nil
    ) {
        self.metrics = metrics
        self.configuration = configuration
        self.group = group
        self.logger = logger
    }

    /// The address the server listens on, once bound (waits for it).
    public var listeningAddress: SocketAddress {
        get async throws {
            try await withCheckedThrowingContinuation { continuation in
                self.bound.withLockedValue { state in
                    switch state {
                    case .notYet(var waiters):
                        waiters.append(continuation)
                        state = .notYet(waiters)
                    case .bound(let address):
                        continuation.resume(returning: address)
                    case .failed(let error):
                        continuation.resume(throwing: error)
                    }
                }
            }
        }
    }

    private func setBound(_ result: Result<SocketAddress, any Error>) {
        let waiters = self.bound.withLockedValue { state -> [CheckedContinuation<SocketAddress, any Error>] in
            guard case .notYet(let waiters) = state else { return [] }
            switch result {
            case .success(let address): state = .bound(address)
            case .failure(let error): state = .failed(error)
            }
            return waiters
        }
        for waiter in waiters { waiter.resume(with: result) }
    }

    /// Binds and serves `router` until shut down; its ``RPCRouter/admission``
    /// is consulted for every unary call.
    public func serve(_ router: RPCRouter) async throws {
        let listener: NIOAsyncChannel<AcceptedConnection, Never>
        do {
            listener = try await self.bind(router)
        } catch {
            self.setBound(.failure(error))
            throw error
        }
        let alreadyShuttingDown = self.state.withLockedValue { state -> Bool in
            state.listener = listener.channel
            return state.shuttingDown
        }
        // A shutdown that raced the bind may have closed the channel already,
        // and a closed channel has no local address.
        guard let address = listener.channel.localAddress else {
            self.setBound(.failure(ChannelError.ioOnClosedChannel))
            listener.channel.close(promise: nil)
            if alreadyShuttingDown { return }
            throw ChannelError.ioOnClosedChannel
        }
        self.setBound(.success(address))
        if alreadyShuttingDown { listener.channel.close(promise: nil) }
        self.logger.info("Listening", metadata: ["address": "\(address)"])

        try await withThrowingDiscardingTaskGroup { group in
            try await listener.executeThenClose { inbound in
                for try await connection in inbound {
                    group.addTask { await self.serve(connection) }
                }
            }
        }
    }

    private func bind(_ router: RPCRouter) async throws -> NIOAsyncChannel<AcceptedConnection, Never> {
        let configuration = self.configuration
        return try await ServerBootstrap(group: self.group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 256)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .bind(host: configuration.host, port: configuration.port) { channel in
                channel.eventLoop.makeCompletedFuture { try self.accept(channel, router: router) }
            }
    }

    /// Sets up an accepted connection's pipeline. Counted here, before the
    /// channel reads anything, so an excess connection is refused before
    /// any call runs.
    private func accept(_ channel: any Channel, router: RPCRouter) throws -> AcceptedConnection {
        let configuration = self.configuration
        let count = self.openConnections.wrappingIncrementThenLoad(ordering: .relaxed)
        self.metrics?.connectionOpened()
        channel.closeFuture.whenComplete { [openConnections, metrics] _ in
            openConnections.wrappingDecrement(ordering: .relaxed)
            metrics?.connectionClosed()
        }
        let refusal =
            count > configuration.maxConnections ? "Too many connections (limit \(configuration.maxConnections))." : nil
        let finished = channel.eventLoop.makePromise(of: Void.self)
        let handler = ServerConnectionHandler(
            router: router, configuration: configuration, logger: self.logger, finished: finished, refusal: refusal,
            metrics: self.metrics)
        if let tls = configuration.tls {
            try channel.pipeline.syncOperations.addHandler(tls.makeHandler())
        }
        try channel.pipeline.syncOperations.addHandlers(
            PrefaceHandler(timeout: configuration.frameTimeout.nio),
            FrameDecodingHandler(
                maxFrameSize: configuration.maxFrameSize, frameTimeout: configuration.frameTimeout.nio),
            handler
        )
        return AcceptedConnection(
            channel: channel, handler: NIOLoopBound(handler, eventLoop: channel.eventLoop),
            finished: finished.futureResult)
    }

    private func serve(_ connection: AcceptedConnection) async {
        let id = ObjectIdentifier(connection.channel)
        let accepted = self.state.withLockedValue { state -> Bool in
            guard !state.shuttingDown else { return false }
            state.connections[id] = connection
            return true
        }
        if !accepted {
            connection.channel.eventLoop.execute { connection.handler.value.drain() }
        }
        try? await connection.finished.get()
        _ = self.state.withLockedValue { $0.connections.removeValue(forKey: id) }
    }

    /// Stops accepting, sends GOAWAY on every connection, lets open calls
    /// finish within the grace period, then closes them. `run()` returns
    /// when all are closed.
    public func beginGracefulShutdown() {
        let (listener, connections) = self.state.withLockedValue { state in
            state.shuttingDown = true
            return (state.listener, Array(state.connections.values))
        }
        listener?.close(promise: nil)
        for connection in connections {
            connection.channel.eventLoop.execute { connection.handler.value.drain() }
        }
    }

    /// Connections open now.
    public var connectionCount: Int { self.openConnections.load(ordering: .relaxed) }
}

/// A connection the listener accepted, with its call handler.
struct AcceptedConnection: Sendable {
    let channel: any Channel
    let handler: NIOLoopBound<ServerConnectionHandler>
    let finished: EventLoopFuture<Void>
}
