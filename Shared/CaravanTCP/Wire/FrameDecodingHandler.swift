import NIOCore

/// Turns bytes into frames, and closes a connection whose frame does not
/// finish arriving in time (a slow-loris defence).
final class FrameDecodingHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = InboundFrame

    private var decoder: FrameDecoder
    private var cumulation: ByteBuffer?
    private let frameTimeout: TimeAmount
    private var timer: Scheduled<Void>?
    /// When the frame now arriving started; nil between frames.
    private var partialFrameSince: NIODeadline?

    init(maxFrameSize: Int, frameTimeout: TimeAmount) {
        self.decoder = FrameDecoder(maxFrameSize: maxFrameSize)
        self.frameTimeout = frameTimeout
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = Self.unwrapInboundIn(data)
        if self.cumulation == nil {
            self.cumulation = incoming
        } else {
            self.cumulation!.writeBuffer(&incoming)
        }
        var decodedAny = false
        do {
            while let frame = try self.decoder.decode(buffer: &self.cumulation!) {
                decodedAny = true
                context.fireChannelRead(Self.wrapInboundOut(frame))
                if self.cumulation == nil { return }  // the channel closed while handling it
            }
        } catch {
            self.cumulation = nil
            context.fireErrorCaught(error)
            return
        }
        self.compactAndArmTimer(context: context, restartClock: decodedAny)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.fireChannelReadComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.timer?.cancel()
        self.timer = nil
        self.cumulation = nil
        context.fireChannelInactive()
    }

    private func compactAndArmTimer(context: ChannelHandlerContext, restartClock: Bool) {
        guard let buffered = self.cumulation else { return }
        if buffered.readableBytes == 0 && !self.decoder.isMidFrame {
            self.cumulation = nil
            self.partialFrameSince = nil
            return
        }
        if buffered.readerIndex > 64 * 1024 {
            self.cumulation!.discardReadBytes()
        }
        if restartClock || self.partialFrameSince == nil {
            self.partialFrameSince = .now()
        }
        if self.timer == nil {
            self.armTimer(context: context, at: self.partialFrameSince! + self.frameTimeout)
        }
    }

    /// One timer at a time; when it fires early (frames kept completing) it
    /// re-arms for the frame now in progress.
    private func armTimer(context: ChannelHandlerContext, at deadline: NIODeadline) {
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        self.timer = context.eventLoop.scheduleTask(deadline: deadline) {
            let (handler, context) = loopBound.value
            handler.timer = nil
            guard let since = handler.partialFrameSince else { return }
            let expiry = since + handler.frameTimeout
            if expiry > .now() {
                handler.armTimer(context: context, at: expiry)
                return
            }
            handler.cumulation = nil
            context.fireErrorCaught(
                FrameProtocolError(
                    "A frame did not finish arriving within \(handler.frameTimeout.nanoseconds / 1_000_000) ms."))
        }
    }
}
