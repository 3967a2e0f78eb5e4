import CaravanCore
import CaravanEnvelope
import NIOCore

/// Converts between frame headers (`caravan.rpc.v1` messages) and the
/// core's types. Public for Tests/Fuzz's FrameFuzzer, which reads a
/// peer's request header as the server does (``metadata(_:)``,
/// ``timeout(fromMicros:)``).
public enum FrameHeaders {
    static func metadataEntries(_ metadata: Metadata) -> [MetadataEntry] {
        metadata.map { element in
            var entry = MetadataEntry()
            entry.key = element.key
            switch element.value {
            case .string(let text): entry.value = Array(text.utf8)
            case .binary(let bytes): entry.value = bytes
            }
            return entry
        }
    }

    public static func metadata(_ entries: [MetadataEntry]) -> Metadata {
        var metadata = Metadata()
        for entry in entries {
            if entry.key.hasSuffix("-bin") {
                metadata.add(.init(key: entry.key, value: .binary(entry.value)))
            } else {
                metadata.add(.init(key: entry.key, value: .string(String(decoding: entry.value, as: UTF8.self))))
            }
        }
        return metadata
    }

    /// The wire's `timeout_micros` for a deadline: the time left when the
    /// frame is written, at least 1 (0 would mean no deadline).
    static func timeoutMicros(until deadline: ContinuousClock.Instant, now: ContinuousClock.Instant) -> UInt64 {
        UInt64(max(1, now.duration(to: deadline).totalMicroseconds))
    }

    /// A received `timeout_micros` as a duration; nil for 0 (no deadline).
    public static func timeout(fromMicros micros: UInt64) -> Duration? {
        guard micros > 0 else { return nil }
        return .microseconds(Int64(min(micros, UInt64(Int64.max / 1000))))
    }

    /// A request header without its timeout (``timeoutMicros(until:now:)``
    /// sets it when the frame is written).
    static func requestHeader(descriptor: MethodDescriptor, options: ResolvedCallOptions) -> RequestHeader {
        var header = RequestHeader()
        header.method = descriptor.path
        if !options.metadata.isEmpty {
            header.metadata = Self.metadataEntries(options.metadata)
        }
        header.idempotencyKey = options.idempotencyKey ?? ""
        if let trace = options.trace {
            header.traceparent = trace.traceparent
            header.tracestate = trace.tracestate
        }
        return header
    }

    static func responseHeader(_ error: RPCError) -> ResponseHeader {
        var header = ResponseHeader()
        header.code = error.code.rawValue
        header.message = error.message
        if !error.metadata.isEmpty {
            header.trailers = Self.metadataEntries(error.metadata)
        }
        header.details = error.details.map { detail in
            var entry = StatusDetail()
            entry.type = detail.type
            entry.value = detail.value
            return entry
        }
        return header
    }

    /// The error a RESPONSE header describes; nil for OK.
    static func error(from header: ResponseHeader) -> RPCError? {
        guard header.code != 0 else { return nil }
        let status = StatusCode(rawValue: header.code) ?? .unknown
        return RPCError(
            code: RPCError.Code(status) ?? .unknown,
            message: header.message,
            metadata: Self.metadata(header.trailers),
            details: header.details.map { RPCError.Detail(type: $0.type, value: $0.value) }
        )
    }

    /// A RESPONSE frame ending a call with `error`.
    static func writeErrorResponse(_ error: RPCError, callID: UInt32, into buffer: inout ByteBuffer) {
        let header = (try? Self.responseHeader(error).serializedBytes()) ?? Self.fallbackHeader(error)
        buffer.writeFrame(kind: .response, callID: callID, header: header)
    }

    /// A GOAWAY frame: the last call id the sender accepted, why it leaves.
    static func writeGoAway(code: StatusCode, message: String, lastCallID: UInt32, into buffer: inout ByteBuffer) {
        var goAway = GoAway()
        goAway.code = code.rawValue
        goAway.message = message
        buffer.writeFrame(kind: .goAway, callID: lastCallID, header: (try? goAway.serializedBytes()) ?? [])
    }

    /// When the message cannot be encoded (a NUL in it), send the code alone.
    private static func fallbackHeader(_ error: RPCError) -> [UInt8] {
        var header = ResponseHeader()
        header.code = error.code.rawValue
        return (try? header.serializedBytes()) ?? []
    }

    static func decode<Message: ProtoMessage>(_ type: Message.Type, from buffer: ByteBuffer) throws -> Message {
        try buffer.withUnsafeReadableBytes { bytes in try Message(serializedBytes: bytes) }
    }
}
