/// A message value that protobuf-c cannot encode.
///
/// protobuf-c keeps strings as NUL-terminated `char *`, so a string with an
/// interior NUL byte would be cut short on the wire; encoding refuses it
/// instead of sending something else than the caller built.
public struct ProtoEncodingError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What went wrong.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        @usableFromInline let rawValue: UInt8

        @usableFromInline init(rawValue: UInt8) { self.rawValue = rawValue }

        /// A string field contains a NUL byte.
        public static let nulByteInString = Code(rawValue: 1)

        public var description: String {
            switch self.rawValue {
            case 1: return "nulByteInString"
            default: return "unknown(\(self.rawValue))"
            }
        }
    }

    public var code: Code
    /// The fully qualified field, e.g. `caravan.echo.v1.EchoRequest.text`.
    public var field: String
    public var message: String

    public init(code: Code, field: String, message: String) {
        self.code = code
        self.field = field
        self.message = message
    }

    /// The error for `field` (called from generated code on the cold path).
    @inlinable
    public init(code: Code, field: StaticString) {
        self.init(code: code, field: field.description)
    }

    @usableFromInline
    init(code: Code, field: String) {
        let message: String
        switch code {
        case .nulByteInString:
            message = "\(field) contains a NUL byte, which protobuf-c cannot carry"
        default:
            message = "\(field) cannot be encoded"
        }
        self.init(code: code, field: field, message: message)
    }

    public var description: String { self.message }
}
