import Atomics
import CaravanCore
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Serves an ``RPCRouter`` over the Caravan wire protocol on TCP.
///
/// `run()` binds, accepts connections and returns once the server has shut
/// down; ``beginGracefulShutdown()`` stops accepting, sends GOAWAY on every
/// connection and lets open calls finish within the grace period.
public final class TCPServer: Sendable {
    public let configuration: ServerConfiguration
    private let router: RPCRouter
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
        router: RPCRouter,
        configuration: ServerConfiguration = .defaults,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "caravan.tcp.server"),
        metrics: TransportMetrics? = nil
    ) {
        self.metrics = metrics
        self.router = router
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

    /// Binds and serves until shut down.
    public func run() async throws {
        let configuration = self.configuration
        let router = self.router
        let logger = self.logger
        let openConnections = self.openConnections
        let metrics = self.metrics
        let listener: NIOAsyncChannel<AcceptedConnection, Never>
        do {
            listener = try await ServerBootstrap(group: self.group)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .serverChannelOption(.backlog, value: 256)
                .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                .childChannelOption(.maxMessagesPerRead, value: 16)
                .bind(host: configuration.host, port: configuration.port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        // Counted here, before the channel reads anything, so an
                        // excess connection is refused before any call runs.
                        let count = openConnections.wrappingIncrementThenLoad(ordering: .relaxed)
                        metrics?.connectionOpened()
                        channel.closeFuture.whenComplete { _ in
                            openConnections.wrappingDecrement(ordering: .relaxed)
                            metrics?.connectionClosed()
                        }
                        let refusal = count > configuration.maxConnections
                            ? "Too many connections (limit \(configuration.maxConnections))." : nil
                        if refusal != nil { metrics?.rejected(.connectionLimit) }
                        let finished = channel.eventLoop.makePromise(of: Void.self)
                        let handler = ServerConnectionHandler(
                            router: router, configuration: configuration, logger: logger, finished: finished,
                            refusal: refusal, metrics: metrics)
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
                            channel: channel,
                            handler: NIOLoopBound(handler, eventLoop: channel.eventLoop),
                            finished: finished.futureResult
                        )
                    }
                }
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

    private func serve(_ connection: AcceptedConnection) async {
        let id = ObjectIdentifier(connection.channel)
        let accepted = self.state.withLockedValue { state -> Bool in
            guard !state.shuttingDown else { return false }
            state.connections[id] = connection
            return true
        }
        if !accepted {
            let grace = self.configuration.shutdownGracePeriod
            connection.channel.eventLoop.execute { connection.handler.value.drain(grace: grace) }
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
        let grace = self.configuration.shutdownGracePeriod
        for connection in connections {
            connection.channel.eventLoop.execute { connection.handler.value.drain(grace: grace) }
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
