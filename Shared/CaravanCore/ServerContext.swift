/// What a handler knows about the call it is serving.
///
/// The server binds it to ``ServerContext/current`` for the handler's task,
/// so that calls the handler makes inherit its deadline and trace context.
public struct ServerContext: Sendable {
    /// The method being called.
    public var descriptor: MethodDescriptor
    /// The request metadata.
    public var metadata: Metadata
    /// When the caller stops waiting; the server cancels the handler then.
    public var deadline: ContinuousClock.Instant?
    /// Set on writes the caller may retry: record once, answer repeats alike.
    public var idempotencyKey: String?
    /// The caller's W3C trace context.
    public var trace: TraceContext?
    /// The remote address, e.g. `127.0.0.1:53012`, or `in-process`.
    public var peer: String
    /// The call's id on its connection.
    public var callID: UInt32

    public init(
        descriptor: MethodDescriptor,
        metadata: Metadata = [:],
        deadline: ContinuousClock.Instant? = nil,
        idempotencyKey: String? = nil,
        trace: TraceContext? = nil,
        peer: String = "in-process",
        callID: UInt32 = 0
    ) {
        self.descriptor = descriptor
        self.metadata = metadata
        self.deadline = deadline
        self.idempotencyKey = idempotencyKey
        self.trace = trace
        self.peer = peer
        self.callID = callID
    }

    /// The time left before the deadline; `nil` when there is none.
    public var remainingTime: Duration? {
        self.deadline.map { ContinuousClock.now.duration(to: $0) }
    }

    /// The context of the call the current task is serving, if any.
    @TaskLocal public static var current: ServerContext?
}

/// W3C trace context (`traceparent`, `tracestate`).
public struct TraceContext: Hashable, Sendable {
    public var traceparent: String
    public var tracestate: String

    public init(traceparent: String, tracestate: String = "") {
        self.traceparent = traceparent
        self.tracestate = tracestate
    }

    /// The 32-hex-digit trace id of a well-formed `traceparent`; nil for a
    /// malformed one, which names no trace (it read any 32 characters
    /// between the first dashes before, and nothing of a later version's
    /// longer header).
    public var traceID: String? { self.parts?.traceID }
}
