import CaravanCore

/// RPC status codes as HTTP statuses, the way grpc-gateway maps them.
public enum HTTPStatusMapping {
    public static func httpStatus(for code: RPCError.Code) -> Int {
        switch code {
        case .cancelled: return 499
        case .invalidArgument, .failedPrecondition, .outOfRange: return 400
        case .deadlineExceeded: return 504
        case .notFound: return 404
        case .alreadyExists, .aborted: return 409
        case .permissionDenied: return 403
        case .resourceExhausted: return 429
        case .unimplemented: return 501
        case .unavailable: return 503
        case .unauthenticated: return 401
        default: return 500  // UNKNOWN, INTERNAL, DATA_LOSS
        }
    }
}
