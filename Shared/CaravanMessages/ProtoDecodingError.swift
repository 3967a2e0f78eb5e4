/// Bytes that do not decode as the expected message.
///
/// Thrown for anything protobuf-c rejects (truncated input, a wrong wire
/// type, an overlong varint, a length past the end), and for string fields
/// that are not valid UTF-8 or that contain a NUL byte.
public struct ProtoDecodingError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What went wrong.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        @usableFromInline let rawValue: UInt8

        @usableFromInline init(rawValue: UInt8) { self.rawValue = rawValue }

        /// protobuf-c could not unpack the bytes.
        public static let malformed = Code(rawValue: 1)
        /// A string field is not valid UTF-8.
        public static let invalidUTF8 = Code(rawValue: 2)
        /// A string field contains a NUL byte.
        public static let nulByteInString = Code(rawValue: 3)
        /// Memory for the decoded message could not be allocated.
        public static let outOfMemory = Code(rawValue: 4)

        public var description: String {
            switch self.rawValue {
            case 1: return "malformed"
            case 2: return "invalidUTF8"
            case 3: return "nulByteInString"
            case 4: return "outOfMemory"
            default: return "unknown(\(self.rawValue))"
            }
        }
    }

    public var code: Code
    /// The fully qualified field at fault, or the message name when the
    /// whole input was rejected.
    public var field: String
    public var message: String

    public init(code: Code, field: String, message: String) {
        self.code = code
        self.field = field
        self.message = message
    }

    /// The error for a string field (called from generated code on the
    /// cold path).
    @usableFromInline
    static func string(_ code: Code, field: StaticString) -> ProtoDecodingError {
        let name = field.description
        let message: String
        switch code {
        case .invalidUTF8: message = "\(name) is not valid UTF-8"
        case .nulByteInString: message = "\(name) contains a NUL byte, which protobuf-c cannot carry"
        default: message = "\(name) cannot be decoded"
        }
        return ProtoDecodingError(code: code, field: name, message: message)
    }

    /// The error for bytes protobuf-c rejected as a whole.
    @usableFromInline
    static func malformed(_ messageName: String, byteCount: Int, outOfMemory: Bool) -> ProtoDecodingError {
        if outOfMemory {
            return ProtoDecodingError(
                code: .outOfMemory, field: messageName,
                message: "out of memory decoding \(byteCount) bytes as \(messageName)")
        }
        return ProtoDecodingError(
            code: .malformed, field: messageName,
            message:
                "\(byteCount) bytes are not a valid \(messageName) (truncated, or a wrong wire type, varint or length)")
    }

    public var description: String { self.message }
}
