import CaravanCore
import NIOCore

extension Duration {
    /// The same span as NIO's `TimeAmount`.
    var nio: TimeAmount {
        .nanoseconds(self.totalNanoseconds)
    }
}

extension ContinuousClock.Instant {
    /// The same instant as a NIO deadline.
    var nioDeadline: NIODeadline {
        NIODeadline.now() + ContinuousClock.now.duration(to: self).nio
    }
}
