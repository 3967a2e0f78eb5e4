import CaravanCore
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Opens one client connection: TCP (and TLS when configured), the
/// preface, and the connection's handlers.
struct TCPConnector: Sendable {
    let endpoint: Endpoint
    let configuration: ClientConfiguration
    let group: any EventLoopGroup

    /// A ready connection, and a future that completes once it takes no
    /// more calls, with why.
    func connect() async throws -> (ClientConnection, EventLoopFuture<ClientConnectionHandler.StateMachine.Unusable>) {
        let configuration = self.configuration
        let eventLoop = self.group.next()
        let unusable = eventLoop.makePromise(of: ClientConnectionHandler.StateMachine.Unusable.self)
        // A server that refuses the connection (GOAWAY with an error) may close
        // it before it is set up here; its words are then the reason.
        let refusal = NIOLockedValueBox<String?>(nil)
        let handshake = configuration.tls.map { _ in eventLoop.makePromise(of: Void.self) }
        let host = self.endpoint.host
        let channel = try await ClientBootstrap(group: eventLoop)
            .connectTimeout(configuration.connectTimeout.nio)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelOption(.maxMessagesPerRead, value: 16)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls = configuration.tls, let handshake {
                        try channel.pipeline.syncOperations.addHandlers(
                            try tls.makeHandler(host: host), TLSHandshakeWaiter(promise: handshake))
                    }
                    try channel.pipeline.syncOperations.addHandlers(
                        FrameDecodingHandler(
                            maxFrameSize: configuration.maxFrameSize, frameTimeout: configuration.frameTimeout.nio),
                        ClientConnectionHandler(configuration: configuration) { reason in
                            if case .refused(let message) = reason { refusal.withLockedValue { $0 = message } }
                            unusable.succeed(reason)
                        }
                    )
                }
            }
            .connect(host: self.endpoint.host, port: self.endpoint.port)
            .get()
        do {
            if let handshake {
                try await self.awaitHandshake(handshake, channel: channel)
            }
            let connection = try await channel.eventLoop.submit {
                let handler = try channel.pipeline.syncOperations.handler(type: ClientConnectionHandler.self)
                return ClientConnection(channel: channel, handler: NIOLoopBound(handler, eventLoop: channel.eventLoop))
            }.get()
            var preface = channel.allocator.buffer(capacity: WireFormat.preface.count)
            preface.writeBytes(WireFormat.preface)
            try await channel.writeAndFlush(preface)
            channel.closeFuture.whenComplete { _ in unusable.succeed(.lost) }
            return (connection, unusable.futureResult)
        } catch {
            channel.close(promise: nil)
            if let message = refusal.withLockedValue({ $0 }) {
                throw ClientConnectionError("the server refused the connection: \(message)")
            }
            throw error
        }
    }

    /// A refused handshake fails this attempt with its reason; the
    /// connection is not offered to calls before it is secure.
    private func awaitHandshake(_ handshake: EventLoopPromise<Void>, channel: any Channel) async throws {
        let timeout = channel.eventLoop.scheduleTask(in: self.configuration.connectTimeout.nio) {
            handshake.fail(TLSSettingsError("The TLS handshake did not finish within the connect timeout."))
        }
        defer { timeout.cancel() }
        do {
            try await handshake.futureResult.get()
        } catch {
            channel.close(promise: nil)
            throw error
        }
    }
}
