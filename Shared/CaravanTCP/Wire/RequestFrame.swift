import CaravanCore
import CaravanEnvelope
import NIOCore

/// A call's REQUEST header, encoded ahead of time except for its timeout,
/// which is only known when the frame is written.
///
/// `RequestHeader` fields are written in field-number order, as any proto3
/// encoder writes them: `method` (1), `timeout_micros` (2), then the rest
/// (3–6) as libprotobuf-c encoded them. So the bytes equal those of the
/// whole message encoded at write time, without encoding it there.
struct RequestHeaderTemplate: Sendable {
    /// Field 1's value, written straight from the string: cheaper per
    /// call than any cache of its encoding.
    private let method: String
    /// Fields 3–6.
    private let rest: [UInt8]
    let deadline: ContinuousClock.Instant?

    init(descriptor: MethodDescriptor, options: ResolvedCallOptions) throws(RPCError) {
        self.method = descriptor.path
        self.deadline = options.deadline
        if options.metadata.isEmpty, options.idempotencyKey == nil, options.trace == nil {
            self.rest = []
            return
        }
        var header = FrameHeaders.requestHeader(descriptor: descriptor, options: options)
        header.method = ""
        do {
            self.rest = try header.serializedBytes()
        } catch {
            throw RPCError(
                code: .invalidArgument, message: "Cannot encode the request header: \(error)",
                cause: CallNeverSent("bad header"))
        }
    }

    /// Bytes of every field but the timeout.
    var untimedCount: Int {
        let length = self.method.utf8.count
        return 1 + Self.varintSize(UInt64(length)) + length + self.rest.count
    }

    /// The timeout field's size and value as of `now` (0, 0 for no deadline).
    func timeoutField(at now: ContinuousClock.Instant) -> (count: Int, micros: UInt64) {
        guard let deadline = self.deadline else { return (0, 0) }
        let micros = FrameHeaders.timeoutMicros(until: deadline, now: now)
        return (1 + Self.varintSize(micros), micros)
    }

    func write(into buffer: inout ByteBuffer, timeoutMicros micros: UInt64) {
        buffer.writeInteger(UInt8(0x0A))  // field 1, length-delimited
        Self.writeVarint(UInt64(self.method.utf8.count), into: &buffer)
        buffer.writeString(self.method)
        if micros > 0 {
            buffer.writeInteger(UInt8(0x10))  // field 2, varint
            Self.writeVarint(micros, into: &buffer)
        }
        buffer.writeBytes(self.rest)
    }

    static func varintSize(_ value: UInt64) -> Int {
        var size = 1
        var rest = value >> 7
        while rest > 0 {
            size += 1
            rest >>= 7
        }
        return size
    }

    static func writeVarint(_ value: UInt64, into buffer: inout ByteBuffer) {
        var rest = value
        while rest >= 0x80 {
            buffer.writeInteger(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        buffer.writeInteger(UInt8(rest))
    }
}

extension ByteBuffer {
    /// Appends a REQUEST frame: built once, by the connection that gave the
    /// call its id, with the time the caller still allows as of now.
    mutating func writeRequestFrame(
        callID: UInt32, flags: FrameFlags, header: RequestHeaderTemplate, payload: [UInt8]?,
        now: ContinuousClock.Instant
    ) {
        let timeout = header.timeoutField(at: now)
        let headerCount = header.untimedCount + timeout.count
        let payloadCount = payload?.count ?? 0
        self.reserveCapacity(minimumWritableBytes: WireFormat.prefixSize + headerCount + payloadCount)
        self.writeInteger(UInt32(WireFormat.fixedFieldsSize + headerCount + payloadCount))
        self.writeInteger(FrameKind.request.rawValue)
        self.writeInteger(flags.rawValue)
        self.writeInteger(callID)
        self.writeInteger(UInt32(headerCount))
        header.write(into: &self, timeoutMicros: timeout.micros)
        if let payload { self.writeBytes(payload) }
    }
}
