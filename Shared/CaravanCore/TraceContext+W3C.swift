import Synchronization

extension TraceContext {
    /// The parts of a well-formed `traceparent` (W3C Trace Context level 1):
    /// `00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>`, lowercase,
    /// neither id all zeros, version not `ff`.
    public struct Parts: Hashable, Sendable {
        public var traceID: String
        public var parentID: String
        public var flags: String
    }

    /// The parts of ``traceparent``, or `nil` when it is malformed (a
    /// malformed one is dropped and a new trace begins, as the W3C says).
    public var parts: Parts? {
        let bytes = Array(self.traceparent.utf8)
        // Version 00 has exactly 55 bytes; later versions may append fields after a dash.
        guard bytes.count >= 55, bytes[2] == UInt8(ascii: "-"), bytes[35] == UInt8(ascii: "-"),
            bytes[52] == UInt8(ascii: "-"), bytes.count == 55 || bytes[55] == UInt8(ascii: "-")
        else { return nil }
        func isHex(_ range: Range<Int>) -> Bool {
            bytes[range].allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0) }
        }
        func isZero(_ range: Range<Int>) -> Bool { bytes[range].allSatisfy { $0 == UInt8(ascii: "0") } }
        guard isHex(0..<2), isHex(3..<35), isHex(36..<52), isHex(53..<55) else { return nil }
        guard bytes[0..<2] != [UInt8(ascii: "f"), UInt8(ascii: "f")], !isZero(3..<35), !isZero(36..<52) else { return nil }
        if bytes[0..<2] == [UInt8(ascii: "0"), UInt8(ascii: "0")], bytes.count != 55 { return nil }
        return Parts(
            traceID: String(decoding: bytes[3..<35], as: UTF8.self),
            parentID: String(decoding: bytes[36..<52], as: UTF8.self),
            flags: String(decoding: bytes[53..<55], as: UTF8.self)
        )
    }

    /// A new trace (sampled), for a call that arrived without one.
    public static func newTrace() -> TraceContext {
        let (high, low) = (TraceIDSource.next(), TraceIDSource.next())
        return TraceContext(traceparent: Self.format(traceHigh: high, traceLow: low, span: TraceIDSource.next(), flags: "01"))
    }

    /// The context for a span of this call's own inside `parent`'s trace:
    /// same trace id, flags and state, a new span id, so that calls made
    /// from here name this span as their parent. A new trace when `parent`
    /// is absent or malformed.
    public static func span(childOf parent: TraceContext?) -> (span: TraceContext, parentID: String?) {
        guard let parent, let parts = parent.parts else { return (Self.newTrace(), nil) }
        var traceparent = "00-"
        traceparent.reserveCapacity(55)
        traceparent += parts.traceID
        traceparent += "-"
        traceparent += Self.hex(TraceIDSource.next())
        traceparent += "-"
        traceparent += parts.flags
        return (TraceContext(traceparent: traceparent, tracestate: parent.tracestate), parts.parentID)
    }

    /// The 16-hex-digit span (parent) id of a well-formed `traceparent`.
    public var spanID: String? { self.parts?.parentID }

    private static func format(traceHigh: UInt64, traceLow: UInt64, span: UInt64, flags: String) -> String {
        "00-" + Self.hex(traceHigh) + Self.hex(traceLow) + "-" + Self.hex(span) + "-" + flags
    }

    private static func hex(_ value: UInt64) -> String {
        // Never all zeros: the W3C forbids an all-zero id.
        let value = value == 0 ? 1 : value
        let digits = Array("0123456789abcdef".utf8)
        return String(unsafeUninitializedCapacity: 16) { buffer in
            for index in 0..<16 {
                buffer[index] = digits[Int((value >> UInt64((15 - index) * 4)) & 0xF)]
            }
            return 16
        }
    }
}

/// Trace and span ids: splitmix64 over a counter seeded at random once.
///
/// Unique within a process and unpredictable without the seed, without a
/// system call per id (the system generator is one `getrandom` each, too
/// dear on the path of every call). Ids need not be secret.
enum TraceIDSource {
    private static let seed: UInt64 = UInt64.random(in: .min ... .max)
    private static let counter = Atomic<UInt64>(0)

    static func next() -> UInt64 {
        let count = Self.counter.wrappingAdd(1, ordering: .relaxed).newValue
        var z = Self.seed &+ count &* 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
