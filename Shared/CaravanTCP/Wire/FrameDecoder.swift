import NIOCore

/// What the frame decoder produces.
public enum InboundFrame: Sendable {
    case frame(Frame)
    /// A frame longer than the limit: its bytes were skipped, not buffered.
    case oversized(kind: FrameKind, flags: FrameFlags, callID: UInt32, length: UInt32)
}

/// A violation of the framing rules; the connection cannot continue.
public struct FrameProtocolError: Error, Hashable, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { self.message }
}

/// Splits a byte stream into frames.
///
/// The length prefix is checked against ``maxFrameSize`` before anything
/// is buffered: a longer frame is skipped as it streams past and reported
/// as ``InboundFrame/oversized(kind:flags:callID:length:)``, so one bad call
/// does not cost the connection or memory.
public struct FrameDecoder: Sendable {
    enum State {
        case waitingForPrefix
        case waitingForBody(length: Int, kind: FrameKind, flags: FrameFlags, callID: UInt32, headerLength: Int)
        case skipping(remaining: Int)
    }

    private var state: State = .waitingForPrefix
    /// The largest frame accepted, counted like the length field.
    public let maxFrameSize: Int

    public init(maxFrameSize: Int) {
        self.maxFrameSize = maxFrameSize
    }

    /// Whether a frame has started but not finished arriving.
    public var isMidFrame: Bool {
        if case .waitingForPrefix = self.state { return false }
        return true
    }

    /// Decodes one frame if enough bytes are buffered. Also used by tests
    /// and the fuzzer, without a channel.
    public mutating func decode(buffer: inout ByteBuffer) throws -> InboundFrame? {
        while true {
            switch self.state {
            case .waitingForPrefix:
                guard buffer.readableBytes >= WireFormat.prefixSize else { return nil }
                let start = buffer.readerIndex
                let length = Int(buffer.getInteger(at: start, as: UInt32.self)!)
                let kind = FrameKind(rawValue: buffer.getInteger(at: start + 4, as: UInt8.self)!)
                let flags = FrameFlags(rawValue: buffer.getInteger(at: start + 5, as: UInt8.self)!)
                let callID = buffer.getInteger(at: start + 6, as: UInt32.self)!
                let headerLength = Int(buffer.getInteger(at: start + 10, as: UInt32.self)!)
                guard length >= WireFormat.fixedFieldsSize else {
                    throw FrameProtocolError("Frame length \(length) is shorter than the fixed fields (10 bytes).")
                }
                guard headerLength <= length - WireFormat.fixedFieldsSize else {
                    throw FrameProtocolError(
                        "Header length \(headerLength) exceeds the frame length \(length) less the fixed fields.")
                }
                buffer.moveReaderIndex(forwardBy: WireFormat.prefixSize)
                if length > self.maxFrameSize {
                    self.state = .skipping(remaining: length - WireFormat.fixedFieldsSize)
                    return .oversized(kind: kind, flags: flags, callID: callID, length: UInt32(length))
                }
                self.state = .waitingForBody(
                    length: length, kind: kind, flags: flags, callID: callID, headerLength: headerLength)

            case .waitingForBody(let length, let kind, let flags, let callID, let headerLength):
                let bodyLength = length - WireFormat.fixedFieldsSize
                guard buffer.readableBytes >= bodyLength else { return nil }
                let header = buffer.readSlice(length: headerLength)!
                let payload = buffer.readSlice(length: bodyLength - headerLength)!
                self.state = .waitingForPrefix
                return .frame(Frame(kind: kind, flags: flags, callID: callID, header: header, payload: payload))

            case .skipping(let remaining):
                let skipped = min(remaining, buffer.readableBytes)
                buffer.moveReaderIndex(forwardBy: skipped)
                if skipped == remaining {
                    self.state = .waitingForPrefix
                } else {
                    self.state = .skipping(remaining: remaining - skipped)
                    return nil
                }
            }
        }
    }
}
