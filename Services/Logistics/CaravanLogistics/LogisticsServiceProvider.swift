import CaravanCore
import CaravanDomain
import CaravanLogisticsAPI
import Foundation
import Logging

/// `caravan.logistics.v1.LogisticsService`: the freight network, routes and
/// shipments, over a ``LogisticsStore``.
///
/// Routes are found on an in-memory ``NetworkSnapshot`` (rebuilt when
/// links change), never on the database; writes run their
/// ``LogisticsWorkflow`` in one store transaction each, with their
/// idempotency key; committed shipment events go to watchers through a
/// ``ShipmentEventBroadcaster``.
public struct LogisticsServiceProvider: LogisticsServiceProtocol {
    /// Alternatives FindRoute returns at most.
    public static let maxAlternatives = 10
    /// Containers one booking may carry (a long train is ~100 TEU; this
    /// bounds mistakes, not business).
    public static let maxContainers: UInt32 = 10_000
    public static let maxNoteBytes = 1_000

    let store: any LogisticsStore
    let network: NetworkState
    public let broadcaster: ShipmentEventBroadcaster
    /// Every shipment's events recorded through this provider, for
    /// ``watchShipments``.
    public let recordedEvents = LiveFeed<WatchShipmentsResponse>()
    let logger: Logger
    let now: @Sendable () -> Int64
    /// How often a watcher also looks in the database, for events recorded
    /// by another process sharing it (link changes are rechecked as often,
    /// by `networkRecheckInterval`).
    let watchPollInterval: Duration

    public init(
        store: any LogisticsStore,
        logger: Logger = Logger(label: "caravan.logistics"),
        watchPollInterval: Duration = .seconds(2),
        networkRecheckInterval: Duration = .seconds(2),
        now: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) }
    ) {
        self.store = store
        self.network = NetworkState(store: store, recheckInterval: networkRecheckInterval)
        self.broadcaster = ShipmentEventBroadcaster()
        self.logger = logger
        self.watchPollInterval = watchPollInterval
        self.now = now
    }

    /// The current network picture (loaded on first use).
    public func snapshot() async throws -> NetworkSnapshot {
        try await self.storage { try await self.network.snapshot() }
    }

    /// Maps storage failures to statuses, once for every call.
    var storage: StorageCall { StorageCall(logger: self.logger) }

    static func pageSize(_ requested: UInt32, defaultSize: Int, maxSize: Int) -> Int {
        requested == 0 ? defaultSize : min(Int(requested), maxSize)
    }

    static func checkNote(_ note: String, field: String) throws(RPCError) {
        guard note.utf8.count <= Self.maxNoteBytes else {
            throw RPCError.invalidArgument(field: field, "at most \(Self.maxNoteBytes) bytes")
        }
        guard !note.utf8.contains(0) else {
            throw RPCError.invalidArgument(field: field, "must not contain NUL characters")
        }
    }
}

extension AddLinkRequest: IdempotentRequest {}
extension RetireLinkRequest: IdempotentRequest {}
extension BookShipmentRequest: IdempotentRequest {}
extension RecordShipmentEventRequest: IdempotentRequest {}
