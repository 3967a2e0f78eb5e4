/// An error ending a call with a non-OK status.
///
/// Handlers throw it to choose the status a caller sees; clients receive it
/// when a call fails. Any other error a handler throws reaches the caller as
/// `UNKNOWN` (or as the status named by ``RPCErrorConvertible``).
public struct RPCError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A non-OK status code.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// The status code, never `.ok`.
        public let status: StatusCode

        /// `nil` for `.ok`, which is not an error.
        public init?(_ status: StatusCode) {
            guard status != .ok else { return nil }
            self.status = status
        }

        private init(unchecked status: StatusCode) { self.status = status }

        public var rawValue: Int32 { self.status.rawValue }
        public var description: String { self.status.name }

        public static let cancelled = Code(unchecked: .cancelled)
        public static let unknown = Code(unchecked: .unknown)
        public static let invalidArgument = Code(unchecked: .invalidArgument)
        public static let deadlineExceeded = Code(unchecked: .deadlineExceeded)
        public static let notFound = Code(unchecked: .notFound)
        public static let alreadyExists = Code(unchecked: .alreadyExists)
        public static let permissionDenied = Code(unchecked: .permissionDenied)
        public static let resourceExhausted = Code(unchecked: .resourceExhausted)
        public static let failedPrecondition = Code(unchecked: .failedPrecondition)
        public static let aborted = Code(unchecked: .aborted)
        public static let outOfRange = Code(unchecked: .outOfRange)
        public static let unimplemented = Code(unchecked: .unimplemented)
        public static let `internal` = Code(unchecked: .internal)
        public static let unavailable = Code(unchecked: .unavailable)
        public static let dataLoss = Code(unchecked: .dataLoss)
        public static let unauthenticated = Code(unchecked: .unauthenticated)
    }

    /// A typed detail: a protobuf message's name and encoding.
    public struct Detail: Hashable, Sendable {
        public var type: String
        public var value: [UInt8]
        public init(type: String, value: [UInt8]) {
            self.type = type
            self.value = value
        }
    }

    public var code: Code
    public var message: String
    /// Trailing metadata sent with the status.
    public var metadata: Metadata
    public var details: [Detail]
    /// What caused it locally; never sent on the wire.
    public var cause: (any Error)?

    /// Trailing metadata of a RESOURCE_EXHAUSTED refusal: milliseconds
    /// after which the call would likely be admitted.
    public static let retryAfterKey = "retry-after-ms"

    /// The refusal's ``retryAfterKey`` hint, if any.
    public var retryAfterMilliseconds: Int? { self.metadata.firstString(Self.retryAfterKey).flatMap { Int($0) } }

    /// A server's pushback: RESOURCE_EXHAUSTED with a ``retryAfterKey``
    /// hint says the call was not run and when to send it again.
    public var pushback: Duration? {
        guard self.code == .resourceExhausted, let milliseconds = self.retryAfterMilliseconds, milliseconds >= 0
        else { return nil }
        return .milliseconds(milliseconds)
    }

    public init(
        code: Code,
        message: String,
        metadata: Metadata = [:],
        details: [Detail] = [],
        cause: (any Error)? = nil
    ) {
        self.code = code
        self.message = message
        self.metadata = metadata
        self.details = details
        self.cause = cause
    }

    public var description: String {
        if let cause = self.cause {
            return "\(self.code): \(self.message) (cause: \(cause))"
        }
        return "\(self.code): \(self.message)"
    }

    public static func == (lhs: RPCError, rhs: RPCError) -> Bool {
        lhs.code == rhs.code && lhs.message == rhs.message && lhs.metadata == rhs.metadata
            && lhs.details == rhs.details
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(self.code)
        hasher.combine(self.message)
    }
}

/// A domain error that knows which RPC status it maps to.
public protocol RPCErrorConvertible: Error {
    var rpcError: RPCError { get }
}

extension RPCError {
    /// Maps any error thrown by a handler to the status its caller sees.
    public init(converting error: any Error) {
        switch error {
        case let error as RPCError:
            self = error
        case let error as any RPCErrorConvertible:
            self = error.rpcError
        case is CancellationError:
            self = RPCError(code: .cancelled, message: "The call was cancelled.", cause: error)
        default:
            self = RPCError(code: .unknown, message: "Unexpected error: \(error)", cause: error)
        }
    }

    /// INVALID_ARGUMENT naming the request field at fault.
    public static func invalidArgument(field: String, _ description: String) -> RPCError {
        RPCError(code: .invalidArgument, message: "\(field): \(description)")
    }
}
