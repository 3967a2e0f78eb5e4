import CaravanCore
import Synchronization
import Testing

@Suite("Replica book: readiness, spreading, ejection, cap")
struct ReplicaBookTests {
    let a = Endpoint(host: "10.0.0.1", port: 7001)
    let b = Endpoint(host: "10.0.0.2", port: 7001)

    func book(_ configuration: ReplicaPoolConfiguration = .defaults, ready: Bool = true) -> ReplicaBook {
        var book = ReplicaBook(configuration: configuration)
        _ = book.setEndpoints([self.a, self.b])
        if ready {
            book.setReadiness(self.a, .ready)
            book.setReadiness(self.b, .ready)
        }
        return book
    }

    @Test("Finished calls alternate round robin; open calls steer to the less loaded replica")
    func spreading() {
        var book = self.book()
        var picks: [ReplicaBook.Pick] = []
        for _ in 0..<4 {
            let pick = book.pick()
            picks.append(pick)
            if case .replica(let endpoint) = pick { book.finish(endpoint, replicaFailed: false) }
        }
        #expect(picks == [.replica(self.a), .replica(self.b), .replica(self.a), .replica(self.b)])
        _ = book.pick()  // a
        _ = book.pick()  // b
        _ = book.pick()  // a (tie broken by the cursor)
        #expect(book.pick() == .replica(self.b), "a carries two open calls, b one")
    }

    @Test(
        "Only replicas with a connection ready are picked; none ready but some coming means wait; all failing means fail"
    )
    func readiness() {
        var book = self.book(ready: false)
        #expect(book.pick() == .wait)
        book.setReadiness(self.b, .ready)
        #expect(book.pick() == .replica(self.b))
        book.setReadiness(self.a, .failing("connection refused"))
        book.setReadiness(self.b, .failing("no route to host"))
        #expect(book.pick() == .fail(reason: "10.0.0.1:7001: connection refused; 10.0.0.2:7001: no route to host"))
        book.setReadiness(self.a, .idle)
        #expect(book.pick() == .wait)
    }

    @Test("N consecutive UNAVAILABLE eject a replica for the back-off period, doubling on repeat")
    func ejection() {
        let now = ContinuousClock.now
        var book = self.book(ReplicaPoolConfiguration(ejectionThreshold: 2, baseEjection: .seconds(1)))
        book.setReadiness(self.b, .connecting)
        for _ in 0..<2 {
            #expect(book.pick(now: now) == .replica(self.a))
            book.finish(self.a, replicaFailed: true, now: now)
        }
        #expect(book.replicas[0].ejectedUntil == now.advanced(by: .seconds(1)))
        book.setReadiness(self.b, .ready)
        for _ in 0..<5 {
            #expect(book.pick(now: now) == .replica(self.b))
            book.finish(self.b, replicaFailed: false, now: now)
        }
        // After the period a is tried again; failing twice more ejects it for twice as long.
        let later = now.advanced(by: .seconds(2))
        book.setReadiness(self.b, .connecting)
        for _ in 0..<2 {
            _ = book.pick(now: later)
            book.finish(self.a, replicaFailed: true, now: later)
        }
        #expect(book.replicas[0].ejectedUntil == later.advanced(by: .seconds(2)))
        book.finish(self.a, replicaFailed: false, now: later)
        #expect(book.replicas[0].ejectedUntil == nil && book.replicas[0].ejections == 0, "a success ends the streak")
    }

    @Test("With every ready replica unhealthy the book still picks one (panic), so the pool can recover")
    func panic() {
        var book = self.book()
        book.setHealthy(self.a, false)
        book.setHealthy(self.b, false)
        #expect(!book.hasEligibleReplica())
        guard case .replica = book.pick() else {
            Issue.record("a panic pick")
            return
        }
    }

    @Test("The cap on calls in flight")
    func cap() {
        var book = self.book(ReplicaPoolConfiguration(maxOutstandingCalls: 2))
        let admitted = [book.admit(), book.admit(), book.admit()]
        #expect(admitted == [true, true, false])
        book.release()
        let again = book.admit()
        #expect(again)
    }

    @Test("Membership changes keep what is known about replicas that stay")
    func membership() {
        var book = self.book()
        _ = book.pick()
        let c = Endpoint(host: "10.0.0.3", port: 7001)
        let (added, removed) = book.setEndpoints([self.a, c])
        #expect(added == [c] && removed == [self.b])
        #expect(book.replicas.first?.outstanding == 1)
        #expect(book.replicas.last?.readiness == .connecting)
    }
}

@Suite("Retry rules and throttle")
struct RetryRulesTests {
    let policy = RetryPolicy(maxAttempts: 3, initialBackoff: .milliseconds(10), maxBackoff: .milliseconds(10))
    let keyed = ResolvedCallOptions(idempotencyKey: "k")
    let neverSent = RPCError(code: .unavailable, message: "no connection", cause: CallNeverSent("no connection"))
    let lost = RPCError(code: .unavailable, message: "lost")

    func decide(
        _ error: RPCError, attempt: Int = 1, options: ResolvedCallOptions = ResolvedCallOptions(),
        throttle: RetryThrottle? = nil
    )
        -> RetryDecision
    {
        RetryRules.decide(after: error, attempt: attempt, policy: self.policy, options: options, throttle: throttle)
    }

    static func retries(_ decision: RetryDecision) -> Bool {
        if case .retry = decision { return true }
        return false
    }

    @Test("A call that never left is retried whatever it is; one that may have run only with a key")
    func safety() {
        #expect(Self.retries(self.decide(self.neverSent)))
        #expect(self.decide(self.lost) == .fail)
        #expect(Self.retries(self.decide(self.lost, options: self.keyed)))
        #expect(self.decide(RPCError(code: .notFound, message: ""), options: self.keyed) == .fail)
        let tooBig = RPCError(code: .resourceExhausted, message: "", cause: CallNeverSent("frame too large"))
        #expect(self.decide(tooBig) == .fail, "never sent, but retrying cannot help")
    }

    @Test("Never past the attempt limit, nor past the deadline")
    func limits() {
        #expect(self.decide(self.neverSent, attempt: 3) == .fail)
        let soon = ResolvedCallOptions(deadline: .now.advanced(by: .milliseconds(1)))
        #expect(self.decide(self.neverSent, options: soon) == .fail, "the 5–10 ms pause ends after the deadline")
    }

    @Test(
        "A pushback (RESOURCE_EXHAUSTED with retry-after-ms) is retried unkeyed, no sooner than the hint, within the budget"
    )
    func pushback() {
        let refused = RPCError(
            code: .resourceExhausted, message: "at the limit", metadata: [RPCError.retryAfterKey: .string("40")])
        #expect(self.decide(refused) == .retry(after: .milliseconds(40)), "the hint outweighs the 10 ms back-off")
        #expect(self.decide(refused, attempt: 3) == .fail)
        let soon = ResolvedCallOptions(deadline: .now.advanced(by: .milliseconds(20)))
        #expect(self.decide(refused, options: soon) == .fail, "the hint ends after the deadline")
        let throttle = RetryThrottle(maxTokens: 2)
        throttle.recordFailure()
        #expect(self.decide(refused, throttle: throttle) == .throttled)
        #expect(self.decide(RPCError(code: .resourceExhausted, message: "too big")) == .fail, "no hint, no retry")
    }

    @Test("The throttle refuses retries of sent calls once half drained, never those of unsent ones")
    func throttle() {
        let throttle = RetryThrottle(maxTokens: 4, tokenRatio: 0.5)
        throttle.recordFailure()
        #expect(Self.retries(self.decide(self.lost, options: self.keyed, throttle: throttle)))
        throttle.recordFailure()
        #expect(self.decide(self.lost, options: self.keyed, throttle: throttle) == .throttled)
        #expect(Self.retries(self.decide(self.neverSent, throttle: throttle)))
        throttle.recordSuccess()
        #expect(throttle.tokens == 2.5 && throttle.allowsRetry)
        for _ in 0..<10 { throttle.recordSuccess() }
        #expect(throttle.tokens == 4)
    }
}

/// A replica channel whose readiness the test sets.
final class ScriptedChannel: ReplicaChannel {
    let endpoint: Endpoint
    private let readinessChanged: @Sendable (ReplicaReadiness) -> Void
    private let connects = Mutex(0)
    private let closed = AsyncStream<Never>.makeStream()

    init(_ endpoint: Endpoint, _ readinessChanged: @escaping @Sendable (ReplicaReadiness) -> Void) {
        self.endpoint = endpoint
        self.readinessChanged = readinessChanged
    }

    func report(_ readiness: ReplicaReadiness) { self.readinessChanged(readiness) }
    var connectRequests: Int { self.connects.withLock { $0 } }

    func unary(descriptor: MethodDescriptor, request: [UInt8], options: ResolvedCallOptions) async throws -> [UInt8] {
        Array(self.endpoint.description.utf8)
    }

    func streaming<Result: Sendable>(
        descriptor: MethodDescriptor, options: ResolvedCallOptions,
        requests: @escaping @Sendable (RawMessageWriter) async throws -> Void,
        responses: (RawMessageStream) async throws -> Result
    ) async throws -> Result {
        throw RPCError(code: .unimplemented, message: "scripted")
    }

    func run() async { for await _ in self.closed.stream {} }
    func close() { self.closed.continuation.finish() }

    /// An idle channel asked to connect becomes ready.
    func connect() {
        self.connects.withLock { $0 += 1 }
        self.readinessChanged(.ready)
    }
}

@Suite("Replica pool: one attempt, waiting for a connection")
struct ReplicaPoolTests {
    final class Channels: Sendable {
        let storage = Mutex<[Endpoint: ScriptedChannel]>([:])
        subscript(_ endpoint: Endpoint) -> ScriptedChannel { self.storage.withLock { $0[endpoint]! } }
    }

    static let endpoint = Endpoint(host: "127.0.0.1", port: 7001)
    static let method = MethodDescriptor(service: "s", method: "m")

    static func pool(connectionWait: Duration = .seconds(600)) -> (ReplicaPool, Channels) {
        let channels = Channels()
        let pool = ReplicaPool(
            name: "s", endpoints: [Self.endpoint],
            configuration: ReplicaPoolConfiguration(connectionWait: connectionWait)
        ) { endpoint, readinessChanged in
            let channel = ScriptedChannel(endpoint, readinessChanged)
            channels.storage.withLock { $0[endpoint] = channel }
            return channel
        }
        return (pool, channels)
    }

    @Test("A call waiting for a connection fails DEADLINE_EXCEEDED, never sent, at its deadline")
    func waitingCallHonoursDeadline() async throws {
        let (pool, _) = Self.pool()
        let error = await #expect(throws: RPCError.self) {
            _ = try await pool.unary(
                descriptor: Self.method, request: [],
                options: ResolvedCallOptions(deadline: .now.advanced(by: .milliseconds(50))))
        }
        #expect(error?.code == .deadlineExceeded && error?.neverSent == true)
    }

    @Test("A call waiting for a connection goes out once the server's idle close is undone on demand")
    func idleReconnectsOnDemand() async throws {
        let (pool, channels) = Self.pool()
        channels[Self.endpoint].report(.idle)
        let answer = try await pool.unary(descriptor: Self.method, request: [], options: ResolvedCallOptions())
        #expect(answer == Array(Self.endpoint.description.utf8))
        #expect(channels[Self.endpoint].connectRequests == 1)
    }

    @Test(
        "Waiting for a replica to be ready asks an idle one to connect (a restarted replica rejoins while others serve)",
        .timeLimit(.minutes(1)))
    func readinessWaitReconnectsIdle() async throws {
        let (pool, channels) = Self.pool()
        channels[Self.endpoint].report(.idle)
        try await pool.waitUntilReady(Self.endpoint)
        #expect(channels[Self.endpoint].connectRequests == 1)
    }

    @Test("Without a connection for the connection wait, a call fails UNAVAILABLE, never sent")
    func connectionWait() async throws {
        let (pool, _) = Self.pool(connectionWait: .milliseconds(50))
        let error = await #expect(throws: RPCError.self) {
            _ = try await pool.unary(descriptor: Self.method, request: [], options: ResolvedCallOptions())
        }
        #expect(error?.code == .unavailable && error?.neverSent == true)
    }

    @Test("A closed pool refuses calls, never sent")
    func closed() async throws {
        let (pool, channels) = Self.pool()
        channels[Self.endpoint].report(.ready)
        pool.close()
        let error = await #expect(throws: RPCError.self) {
            _ = try await pool.unary(descriptor: Self.method, request: [], options: ResolvedCallOptions())
        }
        #expect(error?.code == .unavailable && error?.neverSent == true)
    }
}
