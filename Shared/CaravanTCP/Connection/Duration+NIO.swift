import CaravanCore
import NIOCore

extension Duration {
    /// The same span as NIO's `TimeAmount`.
    var nio: TimeAmount {
        .nanoseconds(self.totalNanoseconds)
    }
}

extension EventLoop {
    /// Runs `task` at a call deadline. Deadlines are continuous-clock
    /// instants everywhere; this is where they meet the event loop's timers.
    @discardableResult
    func scheduleTask<T>(at deadline: ContinuousClock.Instant, _ task: @escaping () throws -> T) -> Scheduled<T> {
        self.scheduleTask(in: ContinuousClock.now.duration(to: deadline).nio, task)
    }
}
