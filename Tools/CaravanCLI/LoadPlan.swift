import CaravanCore
import CaravanServiceKit
import Foundation

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
    /// A call with an idempotency key that fails with one of
    /// ``LoadPlan/retriedCodes`` is sent again, the same bytes under the
    /// same key, up to this many times, as a careful client would; the
    /// call's latency and status are then those of all its attempts.
    public var retries = 0
    /// The pause before the first retry; it doubles before each next one.
    public var retryPause = Duration.milliseconds(250)

    /// The statuses worth another attempt: the server was not reached, did
    /// not answer in time, shed the call, or failed in a way that says
    /// nothing about the write. (The key makes a second attempt safe even
    /// when the first was stored.)
    public static let retriedCodes: Set<StatusCode> = [
        .unavailable, .deadlineExceeded, .cancelled, .unknown, .internal, .aborted, .resourceExhausted,
    ]

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
            let bytes = try? SchemaRegistry.encodeJSON(
                Data(step.template.render(number: 0, worker: 0).utf8), as: step.method.inputType)
        {
            request = .fixed(bytes)
        }
        self.init(
            name: step.name, method: step.method, request: request, weight: step.weight,
            timeout: step.timeout ?? timeout,
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
