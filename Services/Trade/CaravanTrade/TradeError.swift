import CaravanCore

/// Failures of the trade logic that callers see as a status.
public enum TradeError: Error, Sendable, Hashable, RPCErrorConvertible {
    /// No flow has this id.
    case flowNotFound(String)
    /// No hub has this name or short name; `known` lists the hubs there are.
    case unknownHub(String, known: [String])

    public var rpcError: RPCError {
        switch self {
        case .flowNotFound(let id):
            return RPCError(code: .notFound, message: "id: no trade flow \"\(id)\".")
        case .unknownHub(let hub, let known):
            let list = known.isEmpty ? "none" : known.joined(separator: ", ")
            return RPCError(code: .notFound, message: "hub: no hub \"\(hub)\" (known: \(list)).")
        }
    }
}
