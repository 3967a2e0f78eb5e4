import Atomics
import CaravanCore
import CaravanServiceKit
import CaravanTCP
import Foundation

/// Drives load at one server and measures it: closed loop (a fixed number
/// of calls in flight) or open loop (calls started on a schedule, latency
/// measured from the intended start).
public enum LoadGenerator {
    /// Runs `plan` until its count or duration is reached or `stop` is set
    /// (Ctrl-C); `progress` is called about once a second.
    /// With a `history`, every attempt is recorded in it (the caller closes it).
    public static func run(
        _ plan: LoadPlan,
        stop: ManagedAtomic<Bool> = ManagedAtomic(false),
        history: CallHistory? = nil,
        progress: (@Sendable (_ finished: Int, _ elapsed: Duration) -> Void)? = nil
    ) async throws -> LoadReport {
        // TLS from CARAVAN_TLS_* (docs/SECURITY.md), as for every caravan command.
        let configuration = try ClientSecurityOptions.clientConfiguration(
            ClientConfiguration(
                connectionsPerEndpoint: plan.connections, initialBackoff: .milliseconds(50),
                maxBackoff: .milliseconds(500)))
        let transport = TCPClientTransport(
            host: plan.endpoint.host, port: plan.endpoint.port, configuration: configuration)
        return await withTaskGroup(of: Void.self) { group in
            group.addTask { await transport.run() }
            defer { transport.close() }
            await Self.waitForConnections(transport, count: plan.connections)
            let run = Run(plan: plan, transport: transport, stop: stop, history: history)
            let finishedProgress = ManagedAtomic(false)
            group.addTask {
                guard let progress else { return }
                while !finishedProgress.load(ordering: .relaxed) {
                    try? await Task.sleep(for: .seconds(1))
                    if finishedProgress.load(ordering: .relaxed) { break }
                    progress(run.finished.load(ordering: .relaxed), run.start.duration(to: .now))
                }
            }
            let tally = plan.rate == nil ? await run.closedLoop() : await run.openLoop()
            finishedProgress.store(true, ordering: .relaxed)
            let elapsed = run.start.duration(to: .now) - (plan.warmup > .zero ? plan.warmup : .zero)
            return LoadReport(plan: plan, tally: tally, elapsed: max(elapsed, .nanoseconds(1)))
        }
    }

    /// Waits (up to a few seconds) for the connections, so the first calls
    /// do not measure connection set-up; a dead target is not waited for long.
    private static func waitForConnections(_ transport: TCPClientTransport, count: Int) async {
        let end = ContinuousClock.now.advanced(by: .seconds(3))
        while transport.readyEventLoops.count < count, ContinuousClock.now < end {
            try? await Task.sleep(for: .milliseconds(10))
        }
    }
}

/// The state of one load run.
private final class Run: Sendable {
    let plan: LoadPlan
    let transport: TCPClientTransport
    let stop: ManagedAtomic<Bool>
    let history: CallHistory?
    let issued = ManagedAtomic<Int>(0)
    let finished = ManagedAtomic<Int>(0)
    let start = ContinuousClock.now
    let end: ContinuousClock.Instant?
    let limit: Int
    let measureFrom: ContinuousClock.Instant
    let mix: StepMix

    init(plan: LoadPlan, transport: TCPClientTransport, stop: ManagedAtomic<Bool>, history: CallHistory?) {
        self.plan = plan
        self.history = history
        self.mix = StepMix(steps: plan.steps)
        self.transport = transport
        self.stop = stop
        switch plan.stop {
        case .duration(let duration):
            self.end = self.start.advanced(by: plan.warmup + duration)
            self.limit = .max
        case .count(let count):
            self.end = nil
            self.limit = count
        }
        self.measureFrom = self.start.advanced(by: plan.warmup)
    }

    /// The open loop's shortest sleep: above 1 / tick calls per second, calls
    /// start in batches (wrk2's timers have a 1 ms resolution).
    static let schedulerTick = Duration.microseconds(200)

    /// Claims the next call number, or nil when the run is over. The open
    /// loop ends by its schedule instead (`endsByClock` false): every call
    /// scheduled before the end is made, however late a busy machine wakes
    /// the scheduler.
    func nextCall(endsByClock: Bool = true) -> Int? {
        if self.stop.load(ordering: .relaxed) { return nil }
        if endsByClock, let end = self.end, ContinuousClock.now >= end { return nil }
        let number = self.issued.loadThenWrappingIncrement(ordering: .relaxed)
        return number < self.limit ? number : nil
    }

    /// Each of `concurrency` workers sends its next call when the last ends.
    func closedLoop() async -> RunTally {
        // Workers run on the connections' event loops, so a call and its
        // answer cost no thread hand-offs in the load generator itself.
        let executors = self.transport.readyEventLoops.map { EventLoopExecutor(eventLoop: $0) }
        let tallies = SharedTally.shards(executors.count, steps: self.plan.steps.count)
        await withDiscardingTaskGroup { workers in
            for worker in 0..<self.plan.concurrency {
                let executor = executors.isEmpty ? nil : executors[worker % executors.count]
                let tally = tallies[worker % tallies.count]
                workers.addTask(executorPreference: executor) {
                    while let number = self.nextCall() {
                        let callStart = ContinuousClock.now
                        let outcome = await self.call(number: number, worker: worker)
                        tally.update { self.count(outcome, intendedStart: callStart, into: &$0) }
                    }
                }
            }
        }
        return SharedTally.total(of: tallies)
    }

    /// Calls start on the schedule whether or not earlier ones have
    /// answered (up to `concurrency` in flight); latency counts from the
    /// intended start.
    func openLoop() async -> RunTally {
        let schedule = self.plan.rate!
        let inFlight = ManagedAtomic<Int>(0)
        let executors = self.transport.readyEventLoops.map { EventLoopExecutor(eventLoop: $0) }
        let tallies = SharedTally.shards(executors.count, steps: self.plan.steps.count)
        // The scheduler runs on the first connection's event loop: calls it
        // starts there need no cross-thread wake-up.
        await withTaskExecutorPreference(executors.first) {
            await withDiscardingTaskGroup { calls in
                var lastWake = ContinuousClock.now
                while let number = self.nextCall(endsByClock: false) {
                    let intended = self.start.advanced(by: .seconds(schedule.intendedOffset(ofCall: number)))
                    if let end = self.end, intended >= end { break }
                    if intended > .now {
                        // A timer wake-up per call is the scheduler's main cost past a few
                        // thousand calls/s, so it sleeps at least `Self.schedulerTick` and
                        // then starts every call that has come due. A call started late
                        // this way has the delay in its latency (measured from `intended`).
                        try? await Task.sleep(
                            until: max(intended, lastWake.advanced(by: Self.schedulerTick)), clock: .continuous)
                        lastWake = .now
                    }
                    if self.stop.load(ordering: .relaxed) { break }
                    if inFlight.load(ordering: .relaxed) >= self.plan.concurrency {
                        // Saturated: the call is counted as failed, not silently skipped
                        // (as the step it would have been, so the mix stays exact).
                        let (step, request) = self.mix.prepare(
                            number: number, worker: number % max(1, self.plan.concurrency))
                        let outcome = CallOutcome(
                            step: step, code: StatusCode.resourceExhausted.rawValue,
                            message: "load generator: more than \(self.plan.concurrency) calls in flight")
                        let now = Date()
                        self.history?.record(
                            CallHistory.Entry(
                                number: number, attempt: 1, step: self.mix.steps[step].name,
                                method: self.mix.steps[step].method,
                                idempotencyKey: nil, sent: false, start: now, end: now, code: .resourceExhausted,
                                message: outcome.message ?? "", request: try? request.get(), responses: nil))
                        tallies[0].update { self.count(outcome, intendedStart: intended, into: &$0) }
                        continue
                    }
                    inFlight.wrappingIncrement(ordering: .relaxed)
                    let executor = executors.isEmpty ? nil : executors[number % executors.count]
                    let tally = tallies[number % tallies.count]
                    calls.addTask(executorPreference: executor) {
                        let outcome = await self.call(number: number, worker: number % max(1, self.plan.concurrency))
                        tally.update { self.count(outcome, intendedStart: intended, into: &$0) }
                        inFlight.wrappingDecrement(ordering: .relaxed)
                    }
                }
            }
        }
        return SharedTally.total(of: tallies)
    }

    private func count(_ outcome: CallOutcome, intendedStart: ContinuousClock.Instant, into tally: inout RunTally) {
        self.finished.wrappingIncrement(ordering: .relaxed)
        if intendedStart < self.measureFrom {
            tally.steps[outcome.step].warmupCalls += 1
        } else {
            let now = ContinuousClock.now
            let latency = intendedStart.duration(to: now)
            tally.steps[outcome.step].record(code: outcome.code, latency: latency, message: outcome.message)
            tally.timeline.record(offset: self.measureFrom.duration(to: now), code: outcome.code, latency: latency)
        }
    }

    /// One call of the step the mix chooses (with its retries); its status code and, on failure, its message.
    func call(number: Int, worker: Int) async -> CallOutcome {
        let (index, prepared) = self.mix.prepare(number: number, worker: worker)
        let step = self.mix.steps[index]
        let request: [UInt8]
        switch prepared {
        case .success(let bytes): request = bytes
        case .failure(let error):
            return CallOutcome(
                step: index, code: StatusCode.invalidArgument.rawValue, message: "request template: \(error)")
        }
        let key = step.idempotencyKeys ? "load-\(UUID().uuidString.lowercased())" : nil
        let attempts = key == nil ? 1 : 1 + self.plan.retries
        var pause = self.plan.retryPause
        for attempt in 1...attempts {
            let started = Date()
            let (outcome, responses) = await self.attempt(step: index, request: request, idempotencyKey: key)
            let code = StatusCode(rawValue: outcome.code) ?? .unknown
            self.history?.record(
                CallHistory.Entry(
                    number: number, attempt: attempt, step: step.name, method: step.method, idempotencyKey: key,
                    sent: true,
                    start: started, end: Date(), code: code, message: outcome.message ?? "", request: request,
                    responses: responses))
            guard attempt < attempts, LoadPlan.retriedCodes.contains(code), !self.stop.load(ordering: .relaxed) else {
                return outcome
            }
            try? await Task.sleep(for: pause)
            pause = pause * 2
        }
        preconditionFailure("the last attempt returns")
    }

    /// One attempt: its outcome, and the responses when it succeeded and a
    /// history records them.
    private func attempt(
        step index: Int, request: [UInt8], idempotencyKey: String?
    ) async -> (CallOutcome, [[UInt8]]?) {
        let step = self.mix.steps[index]
        var options = ResolvedCallOptions(
            deadline: step.timeout.map { ContinuousClock.now.advanced(by: $0) },
            metadata: step.metadata
        )
        options.idempotencyKey = idempotencyKey
        let keep = self.history != nil
        do {
            var kept: [[UInt8]] = []
            if step.method.kind == .unary {
                let response = try await self.transport.unary(
                    descriptor: step.method.descriptor, request: request, options: options)
                self.mix.capture(step: index, response: response)
                if keep { kept.append(response) }
            } else {
                let mix = self.mix
                kept = try await self.transport.streaming(
                    descriptor: step.method.descriptor,
                    options: options,
                    requests: { writer in try await writer.write(request) },
                    responses: { stream in
                        var kept: [[UInt8]] = []
                        for try await message in stream {
                            mix.capture(step: index, response: message)
                            if keep { kept.append(message) }
                        }
                        return kept
                    }
                )
            }
            return (CallOutcome(step: index, code: 0), keep ? kept : nil)
        } catch let error as RPCError {
            return (
                CallOutcome(step: index, code: error.code.rawValue, message: "\(error.code): \(error.message)"), nil
            )
        } catch {
            return (CallOutcome(step: index, code: StatusCode.unknown.rawValue, message: "\(error)"), nil)
        }
    }
}
