import NIOCore

extension Duration {
    /// The same span as NIO's `TimeAmount`.
    var nio: TimeAmount {
        let (seconds, attoseconds) = self.components
        return .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}

extension ContinuousClock.Instant {
    /// The same instant as a NIO deadline.
    var nioDeadline: NIODeadline {
        NIODeadline.now() + ContinuousClock.now.duration(to: self).nio
    }
}
