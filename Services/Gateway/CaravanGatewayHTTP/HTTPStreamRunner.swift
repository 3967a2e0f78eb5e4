import ServiceLifecycle

/// Runs the HTTP door's streaming calls as tasks of a `Service`, so that a
/// call can outlive the route handler that started it (the handler returns
/// the response head once the stream has opened; the body is written while
/// the call goes on) without an unstructured task.
///
/// Runs beside the HTTP server in its application. On graceful shutdown it
/// takes no new call; the calls still running are cancelled once the
/// server has finished, by which time each stream's response has stopped it.
public struct HTTPStreamRunner: Service {
    public typealias Job = @Sendable () async -> Void

    private let jobs: AsyncStream<Job>
    private let input: AsyncStream<Job>.Continuation

    public init() {
        (self.jobs, self.input) = AsyncStream.makeStream()
    }

    /// Starts `job`; false once the runner has stopped.
    func submit(_ job: @escaping Job) -> Bool {
        if case .enqueued = self.input.yield(job) { return true }
        return false
    }

    public func run() async {
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                for await job in self.jobs { group.addTask(operation: job) }
                group.cancelAll()
            }
        } onGracefulShutdown: {
            self.input.finish()
        }
    }
}
