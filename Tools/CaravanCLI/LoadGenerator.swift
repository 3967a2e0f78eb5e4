import Atomics
import CaravanCore
import CaravanTCP
import Histogram
import CaravanServiceKit

/// What a load run does: one method, one prepared request, closed loop.
public struct LoadPlan: Sendable {
    public enum Stop: Sendable {
        case count(Int)
        case duration(Duration)
    }

    public var endpoint: Endpoint
    public var method: MethodSchema
    /// The serialized request, sent unchanged each time.
    public var request: [UInt8]
    /// Calls in flight at once (workers).
    public var concurrency: Int
    /// Connections the calls share.
    public var connections: Int
    public var stop: Stop
    /// Per-call timeout; none when nil.
    public var timeout: Duration?
    public var metadata: Metadata

    public init(
        endpoint: Endpoint, method: MethodSchema, request: [UInt8], concurrency: Int, connections: Int,
        stop: Stop, timeout: Duration? = nil, metadata: Metadata = [:]
    ) {
        self.endpoint = endpoint
        self.method = method
        self.request = request
        self.concurrency = concurrency
        self.connections = connections
        self.stop = stop
        self.timeout = timeout
        self.metadata = metadata
    }
}

/// One worker's tally; merged at the end so workers share no locks.
struct WorkerTally: Sendable {
    var latencies = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000_000, numberOfSignificantValueDigits: .three)
    var codes: [Int32: Int] = [:]
    var errorMessages: [String: Int] = [:]

    mutating func merge(_ other: WorkerTally) {
        self.latencies.add(other.latencies)
        self.codes.merge(other.codes, uniquingKeysWith: +)
        self.errorMessages.merge(other.errorMessages, uniquingKeysWith: +)
    }
}

/// Drives load against one server and measures it.
public enum LoadGenerator {
    /// Runs `plan`; `progress` is called about once a second with the calls
    /// finished so far.
    public static func run(
        _ plan: LoadPlan,
        progress: (@Sendable (_ finished: Int, _ elapsed: Duration) -> Void)? = nil
    ) async throws -> LoadReport {
        let transport = TCPClientTransport(
            host: plan.endpoint.host,
            port: plan.endpoint.port,
            configuration: ClientConfiguration(connectionsPerEndpoint: plan.connections)
        )
        let issued = ManagedAtomic<Int>(0)
        let finished = ManagedAtomic<Int>(0)
        let stopped = ManagedAtomic<Bool>(false)

        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await transport.run() }
            defer { transport.close() }

            // Wait for the connections (up to the connect timeout) so the
            // first calls do not measure connection set-up.
            _ = try? await transport.unary(
                descriptor: MethodDescriptor(service: "caravan.health.v1.Health", method: "Check"),
                request: [], options: ResolvedCallOptions(deadline: .now.advanced(by: .seconds(5))))
            let warmUpEnd = ContinuousClock.now.advanced(by: .seconds(2))
            while transport.readyEventLoops.count < plan.connections, ContinuousClock.now < warmUpEnd {
                try? await Task.sleep(for: .milliseconds(10))
            }

            let start = ContinuousClock.now
            let end: ContinuousClock.Instant? = {
                if case .duration(let duration) = plan.stop { return start.advanced(by: duration) }
                return nil
            }()
            let limit: Int = {
                if case .count(let count) = plan.stop { return count }
                return .max
            }()

            // Workers run on the connections' event loops, so a call and its
            // answer cost no thread hand-offs in the load generator itself.
            let executors = transport.readyEventLoops.map { EventLoopExecutor(eventLoop: $0) }
            let tally = await withTaskGroup(of: WorkerTally.self) { workers in
                if let progress {
                    workers.addTask {
                        while !stopped.load(ordering: .relaxed) {
                            try? await Task.sleep(for: .seconds(1))
                            if stopped.load(ordering: .relaxed) { break }
                            progress(finished.load(ordering: .relaxed), start.duration(to: .now))
                        }
                        return WorkerTally()
                    }
                }
                for worker in 0..<plan.concurrency {
                    let executor = executors.isEmpty ? nil : executors[worker % executors.count]
                    workers.addTask(executorPreference: executor) {
                        var tally = WorkerTally()
                        while issued.loadThenWrappingIncrement(ordering: .relaxed) < limit {
                            let callStart = ContinuousClock.now
                            if let end, callStart >= end { break }
                            let code = await Self.call(plan, transport: transport, tally: &tally)
                            let elapsed = callStart.duration(to: .now)
                            _ = tally.latencies.record(UInt64(max(1, elapsed.nanosecondsClamped)))
                            tally.codes[code, default: 0] += 1
                            finished.wrappingIncrement(ordering: .relaxed)
                        }
                        return tally
                    }
                }
                var total = WorkerTally()
                var remainingWorkers = plan.concurrency
                for await tally in workers {
                    total.merge(tally)
                    remainingWorkers -= 1
                    if remainingWorkers == 0 { stopped.store(true, ordering: .relaxed) }
                }
                return total
            }
            let elapsed = start.duration(to: .now)
            return LoadReport(plan: plan, tally: tally, elapsed: elapsed)
        }
    }

    /// One call; returns its status code number.
    private static func call(_ plan: LoadPlan, transport: TCPClientTransport, tally: inout WorkerTally) async -> Int32 {
        let options = ResolvedCallOptions(
            deadline: plan.timeout.map { ContinuousClock.now.advanced(by: $0) },
            metadata: plan.metadata
        )
        do {
            if plan.method.kind == .unary {
                _ = try await transport.unary(descriptor: plan.method.descriptor, request: plan.request, options: options)
            } else {
                let request = plan.request
                try await transport.streaming(
                    descriptor: plan.method.descriptor,
                    options: options,
                    requests: { writer in try await writer.write(request) },
                    responses: { stream in for try await _ in stream {} }
                )
            }
            return 0
        } catch {
            let error = RPCError(converting: error)
            if tally.errorMessages.count < 100 || tally.errorMessages[error.message] != nil {
                tally.errorMessages["\(error.code): \(error.message)", default: 0] += 1
            }
            return error.code.rawValue
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
