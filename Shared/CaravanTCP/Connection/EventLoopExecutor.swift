import NIOCore

/// Runs Swift tasks on a NIO event loop's thread.
///
/// Handlers and callers that prefer this executor share the thread of the
/// connection they use, so a call costs no thread hand-offs: the frame is
/// read, the handler runs and the answer is written on one thread, and a
/// waiting caller resumes where the answer arrived. Work that blocks must
/// not run here (it would stall every connection of that loop).
public final class EventLoopExecutor: TaskExecutor {
    public let eventLoop: any EventLoop

    public init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = self.asUnownedTaskExecutor()
        self.eventLoop.execute {
            job.runSynchronously(on: executor)
        }
    }
}
