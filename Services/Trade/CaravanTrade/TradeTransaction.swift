import CaravanCore
import CaravanDomain
import CaravanTradeAPI

/// The write primitives of a trade store, inside one transaction: rows in,
/// maintained totals added to, hubs looked up — no rules. ``TradeWorkflow``
/// decides with them, once for SQLite and PostgreSQL.
public protocol TradeTransaction: IdempotencyLedgerStore {
    /// Inserts a flow and adds `totals` to the yearly totals; answers its id.
    nonisolated(nonsending) func insertFlow(_ flow: TradeFlow, totals: [FlowTotalChange]) async throws -> Int64

    /// Inserts flows in their order (ids ascend with it) and adds `totals`
    /// to the yearly totals (the synthetic generator's batches).
    nonisolated(nonsending) func insertFlows(_ flows: [TradeFlow], totals: [FlowTotalChange]) async throws

    /// The hub with this name or short name (case-insensitive); nil when unknown.
    nonisolated(nonsending) func hub(named name: String) async throws -> TradeHub?

    /// Every hub, as `name (short name)`, for the refusal of an unknown one.
    nonisolated(nonsending) func hubNames() async throws -> [String]

    /// Inserts a session at hub `totals.hubID` and adds `totals` to the
    /// hub's maintained totals; answers its id.
    nonisolated(nonsending) func insertSession(
        _ session: LiveStreamSession, recordedAt: Int64, totals: HubTotals
    ) async throws -> Int64

    /// Inserts sessions at hub `totals.hubID` in their order and adds
    /// `totals` to the hub's maintained totals (generated batches).
    nonisolated(nonsending) func insertSessions(
        _ sessions: [LiveStreamSession], recordedAt: Int64, totals: HubTotals
    ) async throws
}

/// A hub as the stores know it.
public struct TradeHub: Sendable, Hashable {
    public var id: Int64
    /// The full name answers carry.
    public var name: String

    public init(id: Int64, name: String) {
        self.id = id
        self.name = name
    }
}

/// The trade service's writes, once for every store: each runs inside one
/// transaction (``TradeStore/write(_:)``) with its idempotency key.
enum TradeWorkflow {
    nonisolated(nonsending) static func recordFlow(
        _ flow: TradeFlow, write: IdempotentWrite, now: Int64, in transaction: some TradeTransaction
    ) async throws -> RecordFlowResponse {
        try await IdempotencyLedger.once(write, in: transaction) {
            var stored = flow
            stored.recordedAtUnixSeconds = now
            let id = try await transaction.insertFlow(stored, totals: FlowTotalChange.changes(of: [stored]))
            stored.id = String(id)
            return RecordFlowResponse(flow: stored)
        }
    }

    /// Records a batch of flows with no idempotency key (generated data).
    nonisolated(nonsending) static func recordFlows(_ flows: [TradeFlow], in transaction: some TradeTransaction)
        async throws
    {
        try await transaction.insertFlows(flows, totals: FlowTotalChange.changes(of: flows))
    }

    /// Records a batch of sessions at one hub with no idempotency key
    /// (generated data); NOT_FOUND for an unknown hub.
    nonisolated(nonsending) static func recordSessions(
        _ sessions: [LiveStreamSession], hub name: String, now: Int64, in transaction: some TradeTransaction
    ) async throws {
        guard let hub = try await transaction.hub(named: name) else {
            throw TradeError.unknownHub(name, known: try await transaction.hubNames())
        }
        try await transaction.insertSessions(
            sessions, recordedAt: now, totals: HubTotals(hubID: hub.id, sessions: sessions))
    }

    /// Stores a session at a known hub; an unknown hub is NOT_FOUND and
    /// nothing is written (the key stays free for a corrected request).
    nonisolated(nonsending) static func recordSession(
        _ session: LiveStreamSession, write: IdempotentWrite, now: Int64, in transaction: some TradeTransaction
    ) async throws -> RecordStreamSessionResponse {
        try await IdempotencyLedger.once(write, in: transaction) {
            guard let hub = try await transaction.hub(named: session.hub) else {
                throw TradeError.unknownHub(session.hub, known: try await transaction.hubNames())
            }
            var stored = session
            let id = try await transaction.insertSession(
                session, recordedAt: now, totals: HubTotals(hubID: hub.id, sessions: [session]))
            stored.id = String(id)
            stored.hub = hub.name
            return RecordStreamSessionResponse(session: stored)
        }
    }
}
