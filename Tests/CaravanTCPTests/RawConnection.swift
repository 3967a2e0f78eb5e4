import CaravanTCP
import NIOCore
import NIOPosix

/// A frame a ``RawConnection`` received, with its exact bytes.
struct ReceivedFrame: Sendable, CustomStringConvertible {
    var frame: Frame
    /// The whole frame, length prefix included, exactly as it came off the
    /// wire (rebuilt from the decoded fields, which determine every byte).
    var bytes: [UInt8]

    var kind: FrameKind { self.frame.kind }
    var flags: FrameFlags { self.frame.flags }
    var callID: UInt32 { self.frame.callID }
    var header: [UInt8] { Array(self.frame.header.readableBytesView) }
    var payload: [UInt8] { Array(self.frame.payload.readableBytesView) }

    var description: String { "\(self.kind) call=\(self.callID) flags=\(self.flags.rawValue) \(self.bytes.count)B" }
}

/// Why a wait on a ``RawConnection`` ended without what it waited for.
enum RawConnectionError: Error, CustomStringConvertible {
    case timedOut(Duration)
    case closed
    case undecodable(String)

    var description: String {
        switch self {
        case .timedOut(let limit): return "Nothing arrived within \(limit)."
        case .closed: return "The server closed the connection."
        case .undecodable(let reason): return "The server sent bytes that are not frames: \(reason)"
        }
    }
}

/// A plain TCP connection for feeding a server hand-made bytes and reading
/// the frames it answers with. Every wait has a time limit, so a test that
/// expects an answer that never comes fails instead of hanging.
final class RawConnection: Sendable {
    let channel: any Channel
    private let reader: NIOLoopBound<RawFrameReader>

    private init(channel: any Channel, reader: NIOLoopBound<RawFrameReader>) {
        self.channel = channel
        self.reader = reader
    }

    /// Connects to 127.0.0.1:`port`, sending the preface unless told not to.
    static func connect(port: Int, sendPreface: Bool = true) async throws -> RawConnection {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(5))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(RawFrameReader())
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        let reader = try await channel.eventLoop.submit {
            NIOLoopBound(
                try channel.pipeline.syncOperations.handler(type: RawFrameReader.self), eventLoop: channel.eventLoop)
        }.get()
        let connection = RawConnection(channel: channel, reader: reader)
        if sendPreface { try await connection.send(WireFormat.preface) }
        return connection
    }

    /// Writes `bytes` as they are.
    func send(_ bytes: [UInt8]) async throws {
        try await self.channel.writeAndFlush(ByteBuffer(bytes: bytes))
    }

    /// Writes one frame.
    func sendFrame(kind: FrameKind, flags: FrameFlags = [], callID: UInt32, header: [UInt8] = [], payload: [UInt8] = [])
        async throws
    {
        var buffer = ByteBuffer()
        buffer.writeFrame(kind: kind, flags: flags, callID: callID, header: header, payload: payload)
        try await self.channel.writeAndFlush(buffer)
    }

    /// The next frame; throws ``RawConnectionError/closed`` if the server
    /// closes first and ``RawConnectionError/timedOut(_:)`` after `limit`.
    func nextFrame(within limit: Duration = .seconds(5)) async throws -> ReceivedFrame {
        guard let frame = try await self.nextFrameOrClose(within: limit) else { throw RawConnectionError.closed }
        return frame
    }

    /// The next frame, or nil once the server has closed the connection.
    func nextFrameOrClose(within limit: Duration = .seconds(5)) async throws -> ReceivedFrame? {
        let reader = self.reader
        return try await self.channel.eventLoop.flatSubmit { reader.value.next(within: limit) }.get()
    }

    /// Every frame that arrives until the server closes the connection;
    /// throws if it is still open after `limit`.
    func framesUntilClose(within limit: Duration = .seconds(5)) async throws -> [ReceivedFrame] {
        let deadline = ContinuousClock.now.advanced(by: limit)
        var frames: [ReceivedFrame] = []
        while true {
            let left = ContinuousClock.now.duration(to: deadline)
            guard left > .zero else { throw RawConnectionError.timedOut(limit) }
            guard let frame = try await self.nextFrameOrClose(within: left) else { return frames }
            frames.append(frame)
        }
    }

    /// Whether the server has closed the connection (checked on the event loop).
    var isClosedByPeer: Bool {
        get async throws {
            let reader = self.reader
            return try await self.channel.eventLoop.submit { reader.value.isClosed }.get()
        }
    }

    /// Closes the connection from this side.
    func close() async {
        try? await self.channel.close()
    }
}

/// Collects the server's bytes and splits them into frames; answers one
/// waiter at a time. Event-loop confined.
final class RawFrameReader: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private var buffer = ByteBuffer()
    private var decoder = FrameDecoder(maxFrameSize: 64 * 1024 * 1024)
    private var frames: [ReceivedFrame] = []
    private var failure: RawConnectionError?
    private(set) var isClosed = false
    private var context: ChannelHandlerContext?
    private var waiter: (promise: EventLoopPromise<ReceivedFrame?>, timer: Scheduled<Void>)?

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = Self.unwrapInboundIn(data)
        self.buffer.writeBuffer(&incoming)
        do {
            while let inbound = try self.decoder.decode(buffer: &self.buffer) {
                guard case .frame(let frame) = inbound else {
                    self.failure = .undecodable("a frame larger than 64 MiB")
                    break
                }
                // The length and header length follow from the header and payload,
                // so writing the frame again gives exactly the bytes received.
                var bytes = ByteBuffer()
                bytes.writeFrame(
                    kind: frame.kind, flags: frame.flags, callID: frame.callID,
                    header: Array(frame.header.readableBytesView), payload: Array(frame.payload.readableBytesView))
                self.frames.append(ReceivedFrame(frame: frame, bytes: Array(bytes.readableBytesView)))
            }
        } catch {
            self.failure = .undecodable("\(error)")
        }
        self.buffer.discardReadBytes()
        self.deliver()
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.isClosed = true
        self.deliver()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A reset from the server counts as a close.
        context.close(promise: nil)
    }

    func next(within limit: Duration) -> EventLoopFuture<ReceivedFrame?> {
        let eventLoop = self.context!.eventLoop
        precondition(self.waiter == nil, "one waiter at a time")
        let promise = eventLoop.makePromise(of: ReceivedFrame?.self)
        let loopBound = NIOLoopBound(self, eventLoop: eventLoop)
        let nanoseconds = limit.components.seconds * 1_000_000_000 + limit.components.attoseconds / 1_000_000_000
        let timer = eventLoop.scheduleTask(in: .nanoseconds(nanoseconds)) {
            let reader = loopBound.value
            guard let waiter = reader.waiter else { return }
            reader.waiter = nil
            waiter.promise.fail(RawConnectionError.timedOut(limit))
        }
        self.waiter = (promise, timer)
        self.deliver()
        return promise.futureResult
    }

    private func deliver() {
        guard let waiter = self.waiter else { return }
        if !self.frames.isEmpty {
            self.waiter = nil
            waiter.timer.cancel()
            waiter.promise.succeed(self.frames.removeFirst())
        } else if let failure = self.failure {
            self.waiter = nil
            waiter.timer.cancel()
            waiter.promise.fail(failure)
        } else if self.isClosed {
            self.waiter = nil
            waiter.timer.cancel()
            waiter.promise.succeed(nil)
        }
    }
}
