import CaravanCore
import Logging

/// The one mapping from a store's failure to the status a caller sees, for
/// every service and both stores: RPC errors (the workflow's refusals, and
/// PostgreSQL's failures, which the pool maps) pass through; SQLite's
/// errors name their status; cancellation stays CANCELLED; anything else is
/// INTERNAL. Failures of the storage itself (INTERNAL, UNAVAILABLE) are
/// logged, with the cause the caller does not see.
public struct StorageCall: Sendable {
    public let logger: Logger

    public init(logger: Logger) {
        self.logger = logger
    }

    public func callAsFunction<T>(_ body: () async throws -> T) async throws(RPCError) -> T {
        do {
            return try await body()
        } catch {
            throw self.status(of: error)
        }
    }

    /// The status for `error`, logged when the storage itself failed.
    public func status(of error: any Error) -> RPCError {
        var status = RPCError(converting: error)
        if status.code == .unknown {
            status = RPCError(code: .internal, message: "Storage failed: \(error)", cause: error)
        }
        if status.code == .internal || status.code == .unavailable {
            self.logger.warning(
                "Storage failed", metadata: ["rpc.code": "\(status.code)", "error": "\(status.cause ?? error)"])
        }
        return status
    }
}
