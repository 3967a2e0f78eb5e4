import Atomics
import CaravanCore
import CaravanServiceKit
import CaravanTCP
import Foundation
import Histogram
import Synchronization

/// What a load run does.
public struct LoadPlan: Sendable {
    public enum Stop: Sendable {
        case count(Int)
        case duration(Duration)
    }

    /// The request each call sends.
    public enum Request: Sendable {
        /// Serialized once, sent unchanged.
        case fixed([UInt8])
        /// Rendered and serialized for every call.
        case template(RequestTemplate)
    }

    public var endpoint: Endpoint
    /// What the calls are: one step for a single method, a weighted mix for a scenario.
    public var steps: [LoadStep]
    /// The scenario's name; nil for a single method.
    public var scenario: String?
    /// Closed loop: calls in flight at once. Open loop: the most allowed in flight.
    public var concurrency: Int
    /// Connections the calls share.
    public var connections: Int
    public var stop: Stop
    /// Open loop at this schedule; closed loop when nil.
    public var rate: RateSchedule?
    /// Calls started before this much time has passed are not counted.
    public var warmup: Duration

    /// The method of a single-method run (the first step's in a scenario).
    public var method: MethodSchema { self.steps[0].method }

    /// One method, every call alike but for its template.
    public init(
        endpoint: Endpoint, method: MethodSchema, request: Request, concurrency: Int, connections: Int,
        stop: Stop, rate: RateSchedule? = nil, warmup: Duration = .zero, timeout: Duration? = nil,
        metadata: Metadata = [:], idempotencyKeys: Bool = false
    ) {
        let step = LoadStep(
            name: method.descriptor.method, method: method, request: request, timeout: timeout, metadata: metadata,
            idempotencyKeys: idempotencyKeys)
        self.init(
            endpoint: endpoint, steps: [step], scenario: nil, concurrency: concurrency, connections: connections,
            stop: stop, rate: rate, warmup: warmup)
    }

    /// A scenario; `timeout`, `metadata` and `idempotencyKeys` apply to
    /// every step (a step's own timeout and metadata win).
    public init(
        endpoint: Endpoint, scenario: LoadScenario, concurrency: Int, connections: Int, stop: Stop,
        rate: RateSchedule? = nil, warmup: Duration = .zero, timeout: Duration? = nil, metadata: Metadata = [:],
        idempotencyKeys: Bool = false
    ) {
        let steps = scenario.steps.map {
            LoadStep($0, timeout: timeout, metadata: metadata, idempotencyKeys: idempotencyKeys)
        }
        self.init(
            endpoint: endpoint, steps: steps, scenario: scenario.name, concurrency: concurrency,
            connections: connections, stop: stop, rate: rate, warmup: warmup)
    }

    public init(
        endpoint: Endpoint, steps: [LoadStep], scenario: String?, concurrency: Int, connections: Int, stop: Stop,
        rate: RateSchedule?, warmup: Duration
    ) {
        self.endpoint = endpoint
        self.steps = steps
        self.scenario = scenario
        self.concurrency = concurrency
        self.connections = connections
        self.stop = stop
        self.rate = rate
        self.warmup = warmup
    }
}

/// One kind of call in a run, with everything needed to make it.
public struct LoadStep: Sendable {
    public var name: String
    public var method: MethodSchema
    public var request: LoadPlan.Request
    public var weight: Int
    /// Per-call timeout; none when nil.
    public var timeout: Duration?
    public var metadata: Metadata
    /// Give every call its own idempotency key (for writes).
    public var idempotencyKeys: Bool
    public var captures: [ScenarioStep.Capture]
    /// The captured values the request reads (kept, as the mix checks them on every call).
    let poolReads: [RequestTemplate.PoolRead]

    public init(
        name: String, method: MethodSchema, request: LoadPlan.Request, weight: Int = 1, timeout: Duration? = nil,
        metadata: Metadata = [:], idempotencyKeys: Bool = false, captures: [ScenarioStep.Capture] = []
    ) {
        self.name = name
        self.method = method
        self.request = request
        self.weight = weight
        self.timeout = timeout
        self.metadata = metadata
        self.idempotencyKeys = idempotencyKeys
        self.captures = captures
        if case .template(let template) = request { self.poolReads = template.poolReads } else { self.poolReads = [] }
    }

    /// A scenario step, with the run's defaults under its own settings.
    init(_ step: ScenarioStep, timeout: Duration?, metadata: Metadata, idempotencyKeys: Bool) {
        var merged = metadata
        for element in step.metadata {
            merged.removeAll(element.key)
            merged.add(element)
        }
        var request = LoadPlan.Request.template(step.template)
        if step.template.isConstant,
            let bytes = try? SchemaRegistry.encodeJSON(Data(step.template.render(number: 0, worker: 0).utf8), as: step.method.inputType)
        {
            request = .fixed(bytes)
        }
        self.init(
            name: step.name, method: step.method, request: request, weight: step.weight, timeout: step.timeout ?? timeout,
            metadata: merged, idempotencyKeys: step.idempotencyKeys || idempotencyKeys, captures: step.captures)
    }

    /// The serialized request of call `number`.
    func request(number: Int, worker: Int, captured: [String: String]) -> Result<[UInt8], any Error> {
        switch self.request {
        case .fixed(let bytes):
            return .success(bytes)
        case .template(let template):
            let text = template.render(number: number, worker: worker, captured: captured)
            return Result { try SchemaRegistry.encodeJSON(Data(text.utf8), as: self.method.inputType) }
        }
    }
}

/// A tally of calls: latencies, status codes, error messages.
struct WorkerTally: Sendable {
    var latencies = Histogram<UInt64>(
        lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000_000, numberOfSignificantValueDigits: .three)
    var codes: [Int32: Int] = [:]
    var errorMessages: [String: Int] = [:]
    var warmupCalls = 0

    mutating func record(code: Int32, latency: Duration, message: String?) {
        _ = self.latencies.record(UInt64(max(1, latency.nanosecondsClamped)))
        self.codes[code, default: 0] += 1
        if let message, self.errorMessages.count < 100 || self.errorMessages[message] != nil {
            self.errorMessages[message, default: 0] += 1
        }
    }

    mutating func merge(_ other: WorkerTally) {
        self.latencies.add(other.latencies)
        self.codes.merge(other.codes, uniquingKeysWith: +)
        self.errorMessages.merge(other.errorMessages, uniquingKeysWith: +)
        self.warmupCalls += other.warmupCalls
    }
}

/// A tally per step of the plan.
struct RunTally: Sendable {
    var steps: [WorkerTally]

    init(steps: Int) { self.steps = Array(repeating: WorkerTally(), count: steps) }

    mutating func merge(_ other: RunTally) {
        for index in self.steps.indices { self.steps[index].merge(other.steps[index]) }
    }

    /// All steps together.
    var total: WorkerTally {
        var total = WorkerTally()
        for step in self.steps { total.merge(step) }
        return total
    }
}

/// How one call went.
struct CallOutcome: Sendable {
    var step: Int
    var code: Int32
    /// On failure.
    var message: String?
}

/// Drives load at one server and measures it: closed loop (a fixed number
/// of calls in flight) or open loop (calls started on a schedule, latency
/// measured from the intended start).
public enum LoadGenerator {
    /// Runs `plan` until its count or duration is reached or `stop` is set
    /// (Ctrl-C); `progress` is called about once a second.
    public static func run(
        _ plan: LoadPlan,
        stop: ManagedAtomic<Bool> = ManagedAtomic(false),
        progress: (@Sendable (_ finished: Int, _ elapsed: Duration) -> Void)? = nil
    ) async throws -> LoadReport {
        let transport = TCPClientTransport(
            host: plan.endpoint.host,
            port: plan.endpoint.port,
            configuration: ClientConfiguration(
                connectionsPerEndpoint: plan.connections, initialBackoff: .milliseconds(50),
                maxBackoff: .milliseconds(500))
        )
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await transport.run() }
            defer { transport.close() }
            await Self.waitForConnections(transport, count: plan.connections)
            let run = Run(plan: plan, transport: transport, stop: stop)
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
    let issued = ManagedAtomic<Int>(0)
    let finished = ManagedAtomic<Int>(0)
    let start = ContinuousClock.now
    let end: ContinuousClock.Instant?
    let limit: Int
    let measureFrom: ContinuousClock.Instant
    let mix: StepMix

    init(plan: LoadPlan, transport: TCPClientTransport, stop: ManagedAtomic<Bool>) {
        self.plan = plan
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

    /// Claims the next call number, or nil when the run is over.
    func nextCall() -> Int? {
        if self.stop.load(ordering: .relaxed) { return nil }
        if let end = self.end, ContinuousClock.now >= end { return nil }
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
                while let number = self.nextCall() {
                    let intended = self.start.advanced(by: .seconds(schedule.intendedOffset(ofCall: number)))
                    if intended > .now {
                        // A timer wake-up per call is the scheduler's main cost past a few
                        // thousand calls/s, so it sleeps at least `Self.schedulerTick` and
                        // then starts every call that has come due. A call started late
                        // this way has the delay in its latency (measured from `intended`).
                        try? await Task.sleep(until: max(intended, lastWake.advanced(by: Self.schedulerTick)), clock: .continuous)
                        lastWake = .now
                    }
                    if self.stop.load(ordering: .relaxed) { break }
                    if inFlight.load(ordering: .relaxed) >= self.plan.concurrency {
                        // Saturated: the call is counted as failed, not silently skipped
                        // (as the step it would have been, so the mix stays exact).
                        let outcome = CallOutcome(
                            step: self.mix.prepare(number: number, worker: number % max(1, self.plan.concurrency)).step,
                            code: StatusCode.resourceExhausted.rawValue,
                            message: "load generator: more than \(self.plan.concurrency) calls in flight")
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
            tally.steps[outcome.step].record(
                code: outcome.code, latency: intendedStart.duration(to: .now), message: outcome.message)
        }
    }

    /// One call of the step the mix chooses; its status code and, on failure, its message.
    func call(number: Int, worker: Int) async -> CallOutcome {
        let (index, prepared) = self.mix.prepare(number: number, worker: worker)
        let step = self.mix.steps[index]
        var options = ResolvedCallOptions(
            deadline: step.timeout.map { ContinuousClock.now.advanced(by: $0) },
            metadata: step.metadata
        )
        if step.idempotencyKeys { options.idempotencyKey = "load-\(UUID().uuidString.lowercased())" }
        do {
            let request: [UInt8]
            switch prepared {
            case .success(let bytes): request = bytes
            case .failure(let error):
                return CallOutcome(step: index, code: StatusCode.invalidArgument.rawValue, message: "request template: \(error)")
            }
            if step.method.kind == .unary {
                let response = try await self.transport.unary(descriptor: step.method.descriptor, request: request, options: options)
                self.mix.capture(step: index, response: response)
            } else {
                let mix = self.mix
                try await self.transport.streaming(
                    descriptor: step.method.descriptor,
                    options: options,
                    requests: { writer in try await writer.write(request) },
                    responses: { stream in for try await message in stream { mix.capture(step: index, response: message) } }
                )
            }
            return CallOutcome(step: index, code: 0)
        } catch let error as RPCError {
            return CallOutcome(step: index, code: error.code.rawValue, message: "\(error.code): \(error.message)")
        } catch {
            return CallOutcome(step: index, code: StatusCode.unknown.rawValue, message: "\(error)")
        }
    }
}

extension Duration {
    var nanosecondsClamped: Int64 {
        let (seconds, attoseconds) = self.components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }

    var secondsDouble: Double {
        let (seconds, attoseconds) = self.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}

/// A tally the calls of a run add to, one shard per connection event loop:
/// the calls on a loop run on its thread, so its shard's lock is in effect
/// uncontended. Calls record into it (a histogram increment) rather than
/// each filling a tally of its own: an empty histogram is about 270 KB, and
/// making and merging one per call capped the open loop at a few thousand
/// calls/s (and one per worker and step would cost gigabytes at -c 1000).
private final class SharedTally: Sendable {
    private let tally: Mutex<RunTally>
    init(steps: Int) { self.tally = Mutex(RunTally(steps: steps)) }
    func update(_ body: (inout RunTally) -> Void) { self.tally.withLock { body(&$0) } }
    var total: RunTally { self.tally.withLock { $0 } }

    static func shards(_ count: Int, steps: Int) -> [SharedTally] {
        (0..<max(1, count)).map { _ in SharedTally(steps: steps) }
    }

    static func total(of shards: [SharedTally]) -> RunTally {
        var total = shards[0].total
        for shard in shards.dropFirst() { total.merge(shard.total) }
        return total
    }
}
