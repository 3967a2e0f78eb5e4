import Foundation

/// One dedicated thread running the jobs given to it, in order: the engine
/// of ``SerialThreadExecutor`` and ``TaskThreadExecutor``, for work that
/// blocks its thread — an fsync, a long scan — and so must stay off the
/// event loops and the cooperative pool.
///
/// After each run of the jobs it found queued, it calls its idle handler if
/// the queue is still empty: the writer commits a batch of writes then.
final class JobThread: @unchecked Sendable {
    // @unchecked Sendable: `jobs`, `stopping`, `stopped` and `whenIdle` are
    // read and written only with `condition` locked; `threadID` is written
    // by the thread before init returns (init waits for it) and only read after.
    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []
    private var stopping = false
    private var stopped = false
    private var whenIdle: (@Sendable () -> Void)?
    private var threadID: pthread_t?

    /// `run` runs one job, on the executor the thread serves.
    init(name: String, run: @escaping @Sendable (UnownedJob) -> Void) {
        let started = DispatchSemaphore(value: 0)
        let thread = Thread { [self] in
            self.threadID = pthread_self()
            started.signal()
            self.loop(run)
        }
        thread.name = name
        thread.stackSize = 1 << 20
        thread.start()
        started.wait()
    }

    func setIdleHandler(_ handler: @escaping @Sendable () -> Void) {
        self.condition.lock()
        self.whenIdle = handler
        self.condition.unlock()
    }

    func enqueue(_ job: UnownedJob) {
        self.condition.lock()
        self.jobs.append(job)
        self.condition.signal()
        self.condition.unlock()
    }

    /// Whether the caller runs on this thread.
    var isCurrent: Bool { self.threadID.map { pthread_equal($0, pthread_self()) != 0 } ?? false }

    /// Lets the queued jobs run, then ends the thread; returns once it has ended.
    func shutdown() {
        self.condition.lock()
        self.stopping = true
        self.condition.broadcast()
        while !self.stopped { self.condition.wait() }
        self.condition.unlock()
    }

    private func loop(_ run: (UnownedJob) -> Void) {
        while true {
            self.condition.lock()
            while self.jobs.isEmpty && !self.stopping { self.condition.wait() }
            if self.jobs.isEmpty && self.stopping {
                self.stopped = true
                self.condition.broadcast()
                self.condition.unlock()
                return
            }
            let batch = self.jobs
            self.jobs.removeAll(keepingCapacity: true)
            self.condition.unlock()
            for job in batch { run(job) }
            self.condition.lock()
            let idle = self.jobs.isEmpty ? self.whenIdle : nil
            self.condition.unlock()
            idle?()
        }
    }
}

/// A serial executor on a thread of its own: the ``SQLiteWriter`` actor runs on it.
///
/// Only a serial executor, not also a task executor: a job run as both
/// (`runSynchronously(isolatedTo:taskExecutor:)`) made every call of a
/// `nonisolated(nonsending)` function from the actor a real suspension — a
/// hop back onto this same thread through the queue — which let the next
/// write in while one was in its savepoint.
public final class SerialThreadExecutor: SerialExecutor {
    let thread: JobThread

    public init(name: String) {
        let box = ExecutorBox<SerialThreadExecutor>()
        self.thread = JobThread(name: name) { job in
            guard let executor = box.value else { return }
            job.runSynchronously(on: executor.asUnownedSerialExecutor())
        }
        box.value = self
    }

    public func enqueue(_ job: consuming ExecutorJob) { self.thread.enqueue(UnownedJob(job)) }

    public func checkIsolated() {
        precondition(self.thread.isCurrent, "Expected to run on the thread of \(Thread.current.name ?? "an executor")")
    }
}

/// A task executor on a thread of its own: a task that prefers it runs its
/// nonisolated code there (``SQLiteDatabase/readOffloaded(_:)``).
public final class TaskThreadExecutor: TaskExecutor {
    let thread: JobThread

    public init(name: String) {
        let box = ExecutorBox<TaskThreadExecutor>()
        self.thread = JobThread(name: name) { job in
            guard let executor = box.value else { return }
            job.runSynchronously(on: executor.asUnownedTaskExecutor())
        }
        box.value = self
    }

    public func enqueue(_ job: consuming ExecutorJob) { self.thread.enqueue(UnownedJob(job)) }
}

/// The executor a job thread runs its jobs on, set once right after the
/// executor is made (it owns the thread, so the thread holds it weakly).
final class ExecutorBox<Executor: AnyObject & Sendable>: @unchecked Sendable {
    // @unchecked Sendable: `value` is written once, in the executor's init,
    // before any job can be enqueued, and only read afterwards.
    weak var value: Executor?
}
