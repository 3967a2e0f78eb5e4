import CaravanCore
import PostgresNIO
import _ConnectionPoolModule

extension RPCError {
    /// The status a caller gets for a PostgreSQL failure.
    ///
    /// - UNAVAILABLE: no connection (refused, closed, pool backing off) or
    ///   the server shutting down or refusing connections — worth retrying,
    ///   perhaps on another replica.
    /// - ABORTED: a deadlock or serialization failure (``PostgresPool``
    ///   retries these before giving up).
    /// - DEADLINE_EXCEEDED: `statement_timeout` or `lock_timeout` fired.
    /// - ALREADY_EXISTS: a unique constraint no rule caught first.
    /// - RESOURCE_EXHAUSTED: the database's disk is full (nothing was written).
    /// - INTERNAL: anything else (a bug, or a schema that is not ours).
    public init(postgres error: any Error) {
        switch error {
        case let error as RPCError:
            self = error
        case let error as PostgresTransactionError:
            // The closure's own error wins; else BEGIN's or COMMIT's, which are the connection's.
            if let inner = error.closureError ?? error.beginError ?? error.commitError {
                self = RPCError(postgres: inner)
            } else {
                self = RPCError(code: .internal, message: "The transaction failed.", cause: error)
            }
        case let error as PSQLError:
            self = Self.status(of: error)
        case let error as ConnectionPoolError:
            self = RPCError(
                code: .unavailable, message: "No database connection (\(error)); try again.", cause: error)
        case is CancellationError:
            self = RPCError(code: .cancelled, message: "The call was cancelled.", cause: error)
        case let error as any RPCErrorConvertible:
            self = error.rpcError
        default:
            self = RPCError(code: .internal, message: "Storage failed: \(error)", cause: error)
        }
    }

    private static func status(of error: PSQLError) -> RPCError {
        switch error.code {
        case .server:
            let state = error.serverInfo?[.sqlState] ?? ""
            let message = error.serverInfo?[.message] ?? "\(error)"
            switch state {
            case "40001", "40P01":
                return RPCError(
                    code: .aborted, message: "A concurrent write conflicted (\(message)); try again.", cause: error)
            case "57014", "55P03":
                return RPCError(
                    code: .deadlineExceeded, message: "The database gave up waiting: \(message)", cause: error)
            case "23505":
                return RPCError(code: .alreadyExists, message: "Already exists: \(message)", cause: error)
            case "53100":
                // disk_full: the statement failed and its transaction rolled back.
                return RPCError(
                    code: .resourceExhausted,
                    message: "The database's disk is full: the write was not done; try again later. (\(message))",
                    cause: error)
            case _ where state.hasPrefix("08") || state.hasPrefix("57P") || state == "53300" || state == "25006":
                // Connection exceptions, admin shutdown / cannot connect now,
                // too many connections, read-only standby (a fail-over under way).
                return RPCError(code: .unavailable, message: "The database is unavailable: \(message)", cause: error)
            default:
                return RPCError(
                    code: .internal, message: "Storage failed: \(message) (SQLSTATE \(state))", cause: error)
            }
        case .connectionError, .serverClosedConnection, .clientClosedConnection, .uncleanShutdown, .poolClosed,
            .sslUnsupported, .failedToAddSSLHandler:
            return RPCError(
                code: .unavailable, message: "No database connection: \(error.code); try again.", cause: error)
        case .queryCancelled:
            return RPCError(code: .cancelled, message: "The statement was cancelled.", cause: error)
        default:
            return RPCError(code: .internal, message: "Storage failed: \(error.code)", cause: error)
        }
    }
}
