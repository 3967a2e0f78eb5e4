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
    public var method: MethodSchema
    public var request: Request
    /// Closed loop: calls in flight at once. Open loop: the most allowed in flight.
    public var concurrency: Int
    /// Connections the calls share.
    public var connections: Int
    public var stop: Stop
    /// Open loop at this schedule; closed loop when nil.
    public var rate: RateSchedule?
    /// Calls started before this much time has passed are not counted.
    public var warmup: Duration
    /// Per-call timeout; none when nil.
    public var timeout: Duration?
    public var metadata: Metadata
    /// Give every call its own idempotency key (for writes).
    public var idempotencyKeys: Bool

    public init(
        endpoint: Endpoint, method: MethodSchema, request: Request, concurrency: Int, connections: Int,
        stop: Stop, rate: RateSchedule? = nil, warmup: Duration = .zero, timeout: Duration? = nil,
        metadata: Metadata = [:], idempotencyKeys: Bool = false
    ) {
        self.endpoint = endpoint
        self.method = method
        self.request = request
        self.concurrency = concurrency
        self.connections = connections
        self.stop = stop
        self.rate = rate
        self.warmup = warmup
        self.timeout = timeout
        self.metadata = metadata
        self.idempotencyKeys = idempotencyKeys
    }
}

/// A tally of calls; each worker keeps its own, merged at the end, so
/// closed-loop workers share no locks.
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
        // TLS from CARAVAN_TLS_* (docs/SECURITY.md), as for every caravan command.
        let configuration = try ClientSecurityOptions.clientConfiguration(
            ClientConfiguration(
                connectionsPerEndpoint: plan.connections, initialBackoff: .milliseconds(50), maxBackoff: .milliseconds(500)))
        let transport = TCPClientTransport(host: plan.endpoint.host, port: plan.endpoint.port, configuration: configuration)
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

    init(plan: LoadPlan, transport: TCPClientTransport, stop: ManagedAtomic<Bool>) {
        self.plan = plan
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

    /// Claims the next call number, or nil when the run is over.
    func nextCall() -> Int? {
        if self.stop.load(ordering: .relaxed) { return nil }
        if let end = self.end, ContinuousClock.now >= end { return nil }
        let number = self.issued.loadThenWrappingIncrement(ordering: .relaxed)
        return number < self.limit ? number : nil
    }

    /// Each of `concurrency` workers sends its next call when the last ends.
    func closedLoop() async -> WorkerTally {
        // Workers run on the connections' event loops, so a call and its
        // answer cost no thread hand-offs in the load generator itself.
        let executors = self.transport.readyEventLoops.map { EventLoopExecutor(eventLoop: $0) }
        return await withTaskGroup(of: WorkerTally.self) { workers in
            for worker in 0..<self.plan.concurrency {
                let executor = executors.isEmpty ? nil : executors[worker % executors.count]
                workers.addTask(executorPreference: executor) {
                    var tally = WorkerTally()
                    while let number = self.nextCall() {
                        let callStart = ContinuousClock.now
                        let (code, message) = await self.call(number: number, worker: worker)
                        self.count(code: code, message: message, intendedStart: callStart, into: &tally)
                    }
                    return tally
                }
            }
            var total = WorkerTally()
            for await tally in workers { total.merge(tally) }
            return total
        }
    }

    /// Calls start on the schedule whether or not earlier ones have
    /// answered (up to `concurrency` in flight); latency counts from the
    /// intended start.
    func openLoop() async -> WorkerTally {
        let schedule = self.plan.rate!
        let shared = SharedTally()
        let inFlight = ManagedAtomic<Int>(0)
        let executors = self.transport.readyEventLoops.map { EventLoopExecutor(eventLoop: $0) }
        await withDiscardingTaskGroup { calls in
            while let number = self.nextCall() {
                let intended = self.start.advanced(by: .seconds(schedule.intendedOffset(ofCall: number)))
                if intended > .now { try? await Task.sleep(until: intended, clock: .continuous) }
                if self.stop.load(ordering: .relaxed) { break }
                if inFlight.load(ordering: .relaxed) >= self.plan.concurrency {
                    // Saturated: the call is counted as failed, not silently skipped.
                    var tally = WorkerTally()
                    self.count(
                        code: StatusCode.resourceExhausted.rawValue,
                        message: "load generator: more than \(self.plan.concurrency) calls in flight",
                        intendedStart: intended, into: &tally)
                    shared.merge(tally)
                    continue
                }
                inFlight.wrappingIncrement(ordering: .relaxed)
                let executor = executors.isEmpty ? nil : executors[number % executors.count]
                calls.addTask(executorPreference: executor) {
                    let (code, message) = await self.call(number: number, worker: number % max(1, self.plan.concurrency))
                    var tally = WorkerTally()
                    self.count(code: code, message: message, intendedStart: intended, into: &tally)
                    shared.merge(tally)
                    inFlight.wrappingDecrement(ordering: .relaxed)
                }
            }
        }
        return shared.total
    }

    private func count(code: Int32, message: String?, intendedStart: ContinuousClock.Instant, into tally: inout WorkerTally) {
        self.finished.wrappingIncrement(ordering: .relaxed)
        if intendedStart < self.measureFrom {
            tally.warmupCalls += 1
        } else {
            tally.record(code: code, latency: intendedStart.duration(to: .now), message: message)
        }
    }

    /// One call; its status code and, on failure, its message.
    func call(number: Int, worker: Int) async -> (Int32, String?) {
        let plan = self.plan
        var options = ResolvedCallOptions(
            deadline: plan.timeout.map { ContinuousClock.now.advanced(by: $0) },
            metadata: plan.metadata
        )
        if plan.idempotencyKeys { options.idempotencyKey = "load-\(UUID().uuidString.lowercased())" }
        do {
            let request: [UInt8]
            switch plan.request {
            case .fixed(let bytes):
                request = bytes
            case .template(let template):
                let text = template.render(number: number, worker: worker)
                request = try SchemaRegistry.encodeJSON(Data(text.utf8), as: plan.method.inputType)
            }
            if plan.method.kind == .unary {
                _ = try await self.transport.unary(descriptor: plan.method.descriptor, request: request, options: options)
            } else {
                try await self.transport.streaming(
                    descriptor: plan.method.descriptor,
                    options: options,
                    requests: { writer in try await writer.write(request) },
                    responses: { stream in for try await _ in stream {} }
                )
            }
            return (0, nil)
        } catch let error as RPCError {
            return (error.code.rawValue, "\(error.code): \(error.message)")
        } catch {
            return (StatusCode.invalidArgument.rawValue, "request template: \(error)")
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

/// A tally many call tasks add to (open loop).
private final class SharedTally: Sendable {
    private let tally = Mutex(WorkerTally())
    func merge(_ other: WorkerTally) { self.tally.withLock { $0.merge(other) } }
    var total: WorkerTally { self.tally.withLock { $0 } }
}
