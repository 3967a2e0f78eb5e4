import NIOCore

/// Writes frames at once and flushes them in batches: once per read batch
/// or event-loop turn, and every ``WireFormat/framesPerFlush`` frames in
/// between, so that many answers share one system call while the peer can
/// already start on the first ones.
///
/// Event-loop confined; one per connection, owned by its handler.
final class FrameWriteBatcher {
    private var isReading = false
    private var needsFlush = false
    private var flushScheduled = false
    private var unflushedFrames = 0
    /// Counted out at each flush (frames and bytes out); `nil` counts nothing.
    private let metrics: TransportMetrics?
    private var unreported = TrafficTally()

    init(metrics: TransportMetrics? = nil) {
        self.metrics = metrics
    }

    /// A read batch begins: flushes wait for ``endRead(context:)``.
    func beginRead() {
        self.isReading = true
    }

    /// A read batch ended: flush what it produced.
    func endRead(context: ChannelHandlerContext) {
        self.isReading = false
        if self.needsFlush {
            self.flush(context: context)
        }
    }

    func write(_ buffer: ByteBuffer, context: ChannelHandlerContext) {
        self.unreported.framesOut += 1
        self.unreported.bytesOut += buffer.readableBytes
        context.write(NIOAny(buffer), promise: nil)
        self.unflushedFrames += 1
        if self.unflushedFrames >= WireFormat.framesPerFlush {
            self.flush(context: context)
        } else if self.isReading {
            self.needsFlush = true
        } else if !self.flushScheduled {
            self.flushScheduled = true
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            context.eventLoop.execute {
                let (batcher, context) = loopBound.value
                batcher.flushScheduled = false
                if batcher.unflushedFrames > 0 { batcher.flush(context: context) }
            }
        }
    }

    private func flush(context: ChannelHandlerContext) {
        self.needsFlush = false
        self.unflushedFrames = 0
        context.flush()
        self.reportUnflushed()
    }

    /// Adds the frames written since the last report to the metrics (at
    /// each flush, and when the connection closes after a direct flush).
    func reportUnflushed() {
        if let metrics = self.metrics { self.unreported.flushOut(to: metrics) }
    }
}
