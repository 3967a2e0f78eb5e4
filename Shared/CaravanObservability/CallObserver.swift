import CaravanCore
import Logging

/// The server interceptor that watches every call: gives it a span of the
/// caller's trace (a new trace when the caller sent none), counts and
/// times it, and logs one line when it ends.
///
/// The line carries `rpc.method`, `rpc.code`, `rpc.latency_ms`,
/// `rpc.peer`, `rpc.call_id`, `trace_id`, `span_id` and, when the caller
/// sent one, `parent_span_id`; failures add `rpc.error`.
public struct CallObserver: ServerInterceptor {
    public var logger: Logger
    /// The level of the per-call line; `nil` logs no per-call line.
    public var callLogLevel: Logger.Level?
    public var metrics: CallMetrics?

    public init(logger: Logger, callLogLevel: Logger.Level? = .info, metrics: CallMetrics? = nil) {
        self.logger = logger
        self.callLogLevel = callLogLevel
        self.metrics = metrics
    }

    public func intercept(
        context: ServerContext,
        next: (ServerContext) async throws -> Void
    ) async throws {
        var context = context
        let parent = context.trace
        context.trace = TraceContext.span(childOf: parent)
        let instruments = self.metrics?.callStarted(context.descriptor)
        let start = ContinuousClock.now
        do {
            try await next(context)
        } catch {
            let failure = ServerCallRules.status(of: error, context: context)
            self.finish(context, instruments, start: start, parent: parent, failure: failure)
            throw failure
        }
        self.finish(context, instruments, start: start, parent: parent, failure: nil)
    }

    private func finish(
        _ context: ServerContext, _ instruments: CallMetrics.MethodInstruments?, start: ContinuousClock.Instant,
        parent: TraceContext?, failure: RPCError?
    ) {
        let elapsed = start.duration(to: .now)
        let code = failure?.code.status ?? StatusCode.ok
        if let instruments {
            self.metrics?.callFinished(
                instruments, code: code,
                nanoseconds: elapsed.totalNanoseconds)
        }
        guard let level = self.callLogLevel else { return }
        // An autoclosure: the metadata is built only when the line is logged.
        self.logger.log(
            level: level, "Call finished",
            metadata: Self.metadata(context, code, elapsed, parent?.parts?.parentID, failure))
    }

    static func metadata(
        _ context: ServerContext, _ code: StatusCode, _ elapsed: Duration, _ parentID: String?, _ failure: RPCError?
    ) -> Logger.Metadata {
        let micros = elapsed.totalMicroseconds
        var metadata: Logger.Metadata = [
            "rpc.method": .string(CallMetrics.label(context.descriptor)),
            "rpc.code": .string(code.name),
            "rpc.latency_ms": .string(Self.milliseconds(micros: micros)),
            "rpc.peer": .string(context.peer),
            "rpc.call_id": .stringConvertible(context.callID),
        ]
        if let parts = context.trace?.parts {
            metadata["trace_id"] = .string(parts.traceID)
            metadata["span_id"] = .string(parts.parentID)
        }
        if let parentID { metadata["parent_span_id"] = .string(parentID) }
        if let failure { metadata["rpc.error"] = .string(failure.message) }
        return metadata
    }

    /// `1.234` for 1234 µs.
    static func milliseconds(micros: Int64) -> String {
        let fraction = micros % 1000
        let padded = fraction < 10 ? "00\(fraction)" : fraction < 100 ? "0\(fraction)" : "\(fraction)"
        return "\(micros / 1000).\(padded)"
    }
}
