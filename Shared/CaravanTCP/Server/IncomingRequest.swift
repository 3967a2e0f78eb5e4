import CaravanCore
import CaravanEnvelope
import NIOCore

/// A REQUEST frame's header, checked and routed (docs/PROTOCOL.md,
/// section 14, steps 4–8): what the server needs to start the call.
struct IncomingRequest {
    let route: RPCRouter.Route
    let metadata: Metadata
    /// The time the caller still allowed when it wrote the frame.
    let timeout: Duration?
    let idempotencyKey: String?
    let trace: TraceContext?

    /// Why a REQUEST is answered with an error instead of being started.
    struct Refusal: Error {
        let error: RPCError
        let reason: TransportMetrics.RejectionReason
    }

    static func parse(_ frame: Frame, router: RPCRouter, maxMetadataSize: Int) -> Result<IncomingRequest, Refusal> {
        let header: RequestHeader
        do {
            header = try FrameHeaders.decode(RequestHeader.self, from: frame.header)
        } catch {
            return .failure(Refusal(error: RPCError(code: .invalidArgument, message: "Malformed request header: \(error)"), reason: .badRequest))
        }
        let metadata = FrameHeaders.metadata(header.metadata)
        if metadata.encodedSize > maxMetadataSize {
            let message =
                "Request metadata of \(metadata.encodedSize) bytes exceeds the limit of \(maxMetadataSize)."
            return .failure(Refusal(error: RPCError(code: .resourceExhausted, message: message), reason: .metadataTooLarge))
        }
        if let bad = metadata.first(where: { !Metadata.isValidKey($0.key) }) {
            let error = RPCError(code: .invalidArgument, message: "Invalid metadata key \"\(bad.key)\".")
            return .failure(Refusal(error: error, reason: .badRequest))
        }
        guard let route = router.route(forPath: header.method) else {
            let error = RPCError(code: .unimplemented, message: "Unknown method \(header.method).")
            return .failure(Refusal(error: error, reason: .unknownMethod))
        }
        if !route.handler.kind.clientStreams, !frame.flags.contains(.hasMessage) {
            let error = RPCError(
                code: .invalidArgument,
                message: "\(route.descriptor.path) needs a request message in its REQUEST frame.")
            return .failure(Refusal(error: error, reason: .badRequest))
        }
        return .success(
            IncomingRequest(
                route: route, metadata: metadata, timeout: FrameHeaders.timeout(fromMicros: header.timeoutMicros),
                idempotencyKey: header.idempotencyKey.isEmpty ? nil : header.idempotencyKey,
                trace: header.traceparent.isEmpty
                    ? nil : TraceContext(traceparent: header.traceparent, tracestate: header.tracestate)))
    }
}
