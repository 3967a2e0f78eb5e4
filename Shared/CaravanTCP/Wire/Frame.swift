import NIOCore

/// The kind of a frame (one byte on the wire). See docs/PROTOCOL.md.
public struct FrameKind: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// Opens a call: header `RequestHeader`, payload the first request.
    public static let request = FrameKind(rawValue: 0x01)
    /// One message of a stream, in either direction.
    public static let message = FrameKind(rawValue: 0x02)
    /// Ends a call (server to client): header `ResponseHeader`, payload the
    /// unary response when the MESSAGE flag is set.
    public static let response = FrameKind(rawValue: 0x03)
    /// The client will send no more messages on this call (half-close).
    public static let endOfStream = FrameKind(rawValue: 0x04)
    /// The client abandons the call.
    public static let cancel = FrameKind(rawValue: 0x05)
    /// Keepalive probe (call id 0, 8-byte payload).
    public static let ping = FrameKind(rawValue: 0x06)
    /// Answer to a ping, echoing its payload.
    public static let pong = FrameKind(rawValue: 0x07)
    /// The sender is closing: header `GoAway`, call id = last call accepted.
    public static let goAway = FrameKind(rawValue: 0x08)

    public var isKnown: Bool { (0x01...0x08).contains(self.rawValue) }

    public var description: String {
        switch self {
        case .request: return "REQUEST"
        case .message: return "MESSAGE"
        case .response: return "RESPONSE"
        case .endOfStream: return "END_OF_STREAM"
        case .cancel: return "CANCEL"
        case .ping: return "PING"
        case .pong: return "PONG"
        case .goAway: return "GOAWAY"
        default: return "UNKNOWN(0x\(String(self.rawValue, radix: 16)))"
        }
    }
}

/// Frame flags (one byte on the wire).
public struct FrameFlags: OptionSet, Hashable, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// On REQUEST or MESSAGE from a client: no more messages follow.
    public static let endStream = FrameFlags(rawValue: 0x01)
    /// The payload holds a message (an empty payload may be a message with
    /// every field at its default).
    public static let hasMessage = FrameFlags(rawValue: 0x02)
}

/// One decoded frame.
public struct Frame: Sendable {
    public var kind: FrameKind
    public var flags: FrameFlags
    public var callID: UInt32
    /// The serialized header message (may be empty).
    public var header: ByteBuffer
    /// The payload (a serialized message, or ping data).
    public var payload: ByteBuffer

    public init(kind: FrameKind, flags: FrameFlags = [], callID: UInt32, header: ByteBuffer, payload: ByteBuffer) {
        self.kind = kind
        self.flags = flags
        self.callID = callID
        self.header = header
        self.payload = payload
    }
}

/// Layout constants of the wire protocol.
public enum WireFormat {
    /// Bytes a client sends first: "CRVN", CR, LF, then version 1 (u16 BE).
    public static let preface: [UInt8] = [0x43, 0x52, 0x56, 0x4E, 0x0D, 0x0A, 0x00, 0x01]
    /// Bytes before the header: length (4) kind (1) flags (1) call id (4) header length (4).
    public static let prefixSize = 14
    /// Bytes counted by the length field but not header or payload:
    /// kind, flags, call id, header length.
    public static let fixedFieldsSize = 10
    /// Frames written between flushes at most, when many calls finish at once.
    static let framesPerFlush = 16
}

extension ByteBuffer {
    /// Appends a whole frame. `header` and `payload` are written as given.
    @inlinable
    public mutating func writeFrame(
        kind: FrameKind,
        flags: FrameFlags,
        callID: UInt32,
        header: UnsafeRawBufferPointer?,
        payload: UnsafeRawBufferPointer?
    ) {
        let headerCount = header?.count ?? 0
        let payloadCount = payload?.count ?? 0
        self.reserveCapacity(minimumWritableBytes: WireFormat.prefixSize + headerCount + payloadCount)
        self.writeInteger(UInt32(WireFormat.fixedFieldsSize + headerCount + payloadCount))
        self.writeInteger(kind.rawValue)
        self.writeInteger(flags.rawValue)
        self.writeInteger(callID)
        self.writeInteger(UInt32(headerCount))
        if let header, headerCount > 0 { self.writeBytes(header) }
        if let payload, payloadCount > 0 { self.writeBytes(payload) }
    }

    /// Appends a frame whose header and payload are byte arrays.
    @inlinable
    public mutating func writeFrame(
        kind: FrameKind,
        flags: FrameFlags = [],
        callID: UInt32,
        header: [UInt8] = [],
        payload: [UInt8] = []
    ) {
        header.withUnsafeBytes { header in
            payload.withUnsafeBytes { payload in
                self.writeFrame(kind: kind, flags: flags, callID: callID, header: header, payload: payload)
            }
        }
    }
}
