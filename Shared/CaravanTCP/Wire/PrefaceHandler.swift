import NIOCore

/// Checks the connection preface, then removes itself.
final class PrefaceHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private var received: ByteBuffer?
    /// A client has this long to send the preface (as for any frame).
    private let timeout: TimeAmount
    private var timer: Scheduled<Void>?

    init(timeout: TimeAmount) {
        self.timeout = timeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        let timeout = self.timeout
        self.timer = context.eventLoop.scheduleTask(in: timeout) {
            loopBound.value.fireErrorCaught(
                FrameProtocolError("No connection preface within \(timeout.nanoseconds / 1_000_000) ms."))
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.timer?.cancel()
        self.timer = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = Self.unwrapInboundIn(data)
        if var received = self.received {
            received.writeBuffer(&bytes)
            bytes = received
        }
        let expected = WireFormat.preface
        let available = min(bytes.readableBytes, expected.count)
        guard bytes.getBytes(at: bytes.readerIndex, length: available)! == Array(expected[..<available]) else {
            context.fireErrorCaught(FrameProtocolError("The connection did not start with the Caravan preface."))
            return
        }
        guard available == expected.count else {
            self.received = bytes
            return
        }
        bytes.moveReaderIndex(forwardBy: expected.count)
        self.received = nil
        if bytes.readableBytes > 0 {
            context.fireChannelRead(Self.wrapInboundOut(bytes))
        }
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }
}
