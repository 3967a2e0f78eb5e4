/// A gRPC status code: the same 17 codes, numbers and meanings.
public struct StatusCode: Hashable, Sendable, CustomStringConvertible {
    /// The code's number on the wire (0...16).
    public let rawValue: Int32

    /// Creates a code from its number; `nil` outside 0...16.
    public init?(rawValue: Int32) {
        guard (0...16).contains(rawValue) else { return nil }
        self.rawValue = rawValue
    }

    private init(_ rawValue: Int32) { self.rawValue = rawValue }

    public static let ok = StatusCode(0)
    public static let cancelled = StatusCode(1)
    public static let unknown = StatusCode(2)
    public static let invalidArgument = StatusCode(3)
    public static let deadlineExceeded = StatusCode(4)
    public static let notFound = StatusCode(5)
    public static let alreadyExists = StatusCode(6)
    public static let permissionDenied = StatusCode(7)
    public static let resourceExhausted = StatusCode(8)
    public static let failedPrecondition = StatusCode(9)
    public static let aborted = StatusCode(10)
    public static let outOfRange = StatusCode(11)
    public static let unimplemented = StatusCode(12)
    public static let `internal` = StatusCode(13)
    public static let unavailable = StatusCode(14)
    public static let dataLoss = StatusCode(15)
    public static let unauthenticated = StatusCode(16)

    /// All codes in numeric order.
    public static let allCases: [StatusCode] = (0...16).map { StatusCode($0) }

    private static let names = [
        "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
        "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
        "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
        "UNAUTHENTICATED",
    ]

    /// The canonical name, e.g. `INVALID_ARGUMENT`.
    public var name: String { Self.names[Int(self.rawValue)] }

    public var description: String { self.name }

    /// Parses a canonical name (`NOT_FOUND`) or a number (`5`).
    public init?(name: String) {
        if let index = Self.names.firstIndex(of: name.uppercased()) {
            self.rawValue = Int32(index)
        } else if let number = Int32(name), let code = StatusCode(rawValue: number) {
            self = code
        } else {
            return nil
        }
    }
}
