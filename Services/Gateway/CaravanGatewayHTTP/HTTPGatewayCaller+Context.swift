import CaravanCore

extension HTTPGatewayCaller {
    /// The served call's context from the HTTP request's headers: the
    /// token as `authorization` metadata, the idempotency key, the client's
    /// address, and its trace: a well-formed incoming `traceparent` is
    /// continued, otherwise a trace starts here, so that the answer can
    /// name it. Public for Tests/Fuzz (HTTPDoorFuzzer): every header here
    /// is a client's text.
    public static func serverContext(
        _ descriptor: MethodDescriptor, headers: CallHeaders, deadline: ContinuousClock.Instant?
    ) -> ServerContext {
        var metadata = Metadata()
        if let authorization = headers.authorization { metadata.addString(authorization, forKey: "authorization") }
        let incoming = headers.traceparent.map { TraceContext(traceparent: $0, tracestate: headers.tracestate ?? "") }
        let trace = incoming.flatMap { $0.isWellFormed ? $0 : nil } ?? TraceContext.newTrace()
        return ServerContext(
            descriptor: descriptor,
            metadata: metadata,
            deadline: deadline,
            idempotencyKey: headers.idempotencyKey,
            trace: trace,
            peer: headers.peer
        )
    }
}
