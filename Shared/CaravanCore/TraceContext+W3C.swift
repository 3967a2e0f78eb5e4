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
        guard self.isWellFormed else { return nil }
        let utf8 = Array(self.traceparent.utf8.prefix(55))
        return Parts(
            traceID: String(decoding: utf8[3..<35], as: UTF8.self),
            parentID: String(decoding: utf8[36..<52], as: UTF8.self),
            flags: String(decoding: utf8[53..<55], as: UTF8.self)
        )
    }

    /// Whether ``traceparent`` is well-formed (see ``Parts``); reads the
    /// bytes in place, without allocating.
    public var isWellFormed: Bool {
        var traceparent = self.traceparent
        return traceparent.withUTF8 { Self.isWellFormed($0) }
    }

    private static func isWellFormed(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        // Version 00 has exactly 55 bytes; later versions may append fields after a dash.
        guard bytes.count >= 55, bytes[2] == UInt8(ascii: "-"), bytes[35] == UInt8(ascii: "-"),
            bytes[52] == UInt8(ascii: "-"), bytes.count == 55 || bytes[55] == UInt8(ascii: "-")
        else { return false }
        func isHex(_ byte: UInt8) -> Bool {
            (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
        }
        func check(_ range: Range<Int>) -> (hex: Bool, zero: Bool) {
            var zero = true
            for index in range {
                guard isHex(bytes[index]) else { return (false, false) }
                if bytes[index] != UInt8(ascii: "0") { zero = false }
            }
            return (true, zero)
        }
        let version = check(0..<2)
        let trace = check(3..<35)
        let parent = check(36..<52)
        guard version.hex, trace.hex, parent.hex, check(53..<55).hex, !trace.zero, !parent.zero else { return false }
        let isFF = bytes[0] == UInt8(ascii: "f") && bytes[1] == UInt8(ascii: "f")
        let is00 = version.zero
        return !isFF && (!is00 || bytes.count == 55)
    }

    /// A new trace (sampled), for a call that arrived without one.
    public static func newTrace() -> TraceContext {
        let (high, low, span) = (TraceIDSource.next(), TraceIDSource.next(), TraceIDSource.next())
        let traceparent = String(unsafeUninitializedCapacity: 55) { buffer in
            Self.write("00-", at: 0, into: buffer)
            Self.writeHex(high, at: 3, into: buffer)
            Self.writeHex(low, at: 19, into: buffer)
            Self.write("-", at: 35, into: buffer)
            Self.writeHex(span, at: 36, into: buffer)
            Self.write("-01", at: 52, into: buffer)
            return 55
        }
        return TraceContext(traceparent: traceparent)
    }

    /// The context for a span of this call's own inside `parent`'s trace:
    /// same trace id, flags and state, a new span id, so that calls made
    /// from here name this span as their parent. A new trace when `parent`
    /// is absent or malformed.
    public static func span(childOf parent: TraceContext?) -> TraceContext {
        guard let parent else { return Self.newTrace() }
        var parentText = parent.traceparent
        let child: String? = parentText.withUTF8 { bytes in
            guard Self.isWellFormed(bytes) else { return nil }
            return String(unsafeUninitializedCapacity: 55) { buffer in
                Self.write("00-", at: 0, into: buffer)
                for index in 3..<36 { buffer[index] = bytes[index] }  // trace id and its dash
                Self.writeHex(TraceIDSource.next(), at: 36, into: buffer)
                for index in 52..<55 { buffer[index] = bytes[index] }  // dash and flags
                return 55
            }
        }
        guard let child else { return Self.newTrace() }
        return TraceContext(traceparent: child, tracestate: parent.tracestate)
    }

    /// The 16-hex-digit span (parent) id of a well-formed `traceparent`.
    public var spanID: String? { self.parts?.parentID }

    private static func write(_ text: StaticString, at offset: Int, into buffer: UnsafeMutableBufferPointer<UInt8>) {
        text.withUTF8Buffer { bytes in
            for (index, byte) in bytes.enumerated() { buffer[offset + index] = byte }
        }
    }

    private static func writeHex(_ value: UInt64, at offset: Int, into buffer: UnsafeMutableBufferPointer<UInt8>) {
        // Never all zeros: the W3C forbids an all-zero id.
        let value = value == 0 ? 1 : value
        for index in 0..<16 {
            let nibble = UInt8((value >> UInt64((15 - index) * 4)) & 0xF)
            buffer[offset + index] = nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
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
