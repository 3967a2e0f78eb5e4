import CaravanCore
import CaravanDomain
import CaravanLogisticsAPI

/// The write primitives of a logistics store, inside one transaction: rows
/// in and out, locks, maintained counts — no rules. ``LogisticsWorkflow``
/// decides with them, once for SQLite and PostgreSQL.
public protocol LogisticsTransaction: IdempotencyLedgerStore {
    /// Locks the network (its version row) for the rest of the transaction:
    /// link changes happen one transaction at a time.
    nonisolated(nonsending) func lockNetwork() async throws

    /// The storage key the next link takes.
    nonisolated(nonsending) func nextLinkSeq() async throws -> Int64
    nonisolated(nonsending) func insertLink(_ link: RailLink, seq: Int64) async throws
    nonisolated(nonsending) func link(id: String) async throws -> RailLink?
    nonisolated(nonsending) func retireLink(id: String) async throws
    /// Bumps the network's version (every committed link change has its own).
    nonisolated(nonsending) func bumpNetworkVersion() async throws
    /// The whole network, as the transaction sees it.
    nonisolated(nonsending) func network() async throws -> NetworkData

    /// The storage key the next shipment takes (ids are never reused).
    nonisolated(nonsending) func nextShipmentSeq() async throws -> Int64
    /// Inserts a booked shipment and its first event.
    nonisolated(nonsending) func insertShipment(_ booking: ShipmentBooking) async throws
    /// The storage keys the next `count` shipments take (generated batches).
    nonisolated(nonsending) func nextShipmentSeqs(count: Int) async throws -> [Int64]
    /// Inserts shipments with their whole histories (generated batches).
    nonisolated(nonsending) func insertShipments(_ shipments: [ShipmentHistory]) async throws
    /// Locks a shipment for the rest of the transaction; nil when unknown.
    nonisolated(nonsending) func lockShipment(id: String) async throws -> StoredShipment?
    /// The sequence number of a shipment's latest event.
    nonisolated(nonsending) func lastEventSequence(shipmentSeq: Int64) async throws -> UInt64
    nonisolated(nonsending) func insertEvent(_ event: ShipmentEvent, shipmentSeq: Int64) async throws
    /// Stores a shipment's status, ETA and last city after an event.
    nonisolated(nonsending) func updateShipment(_ shipment: Shipment, seq: Int64) async throws
    /// Applies `changes` to the maintained shipment counts.
    nonisolated(nonsending) func changeShipmentCounts(_ changes: [ShipmentCountChange]) async throws
}

/// A shipment as stored: its storage key and the countries it is counted under.
public struct StoredShipment: Sendable {
    public var seq: Int64
    public var shipment: Shipment
    public var originCountry: String
    public var destinationCountry: String

    public init(seq: Int64, shipment: Shipment, originCountry: String, destinationCountry: String) {
        self.seq = seq
        self.shipment = shipment
        self.originCountry = originCountry
        self.destinationCountry = destinationCountry
    }
}

/// A shipment about to be inserted, with its BOOKED event.
public struct ShipmentBooking: Sendable {
    public var stored: StoredShipment
    public var event: ShipmentEvent

    public init(stored: StoredShipment, event: ShipmentEvent) {
        self.stored = stored
        self.event = event
    }
}

/// A shipment as it stands after its events (generated data).
public struct ShipmentHistory: Sendable {
    public var stored: StoredShipment
    public var events: [ShipmentEvent]

    public init(stored: StoredShipment, events: [ShipmentEvent]) {
        self.stored = stored
        self.events = events
    }
}

/// One maintained count changing: shipments in `status` with origin or
/// destination in `country` ("" counts every shipment).
public struct ShipmentCountChange: Sendable, Hashable {
    public var country: String
    public var status: ShipmentStatus
    /// The row of the count the shipment lands in (see `LogisticsCountsSQL`).
    public var shard: Int64
    public var change: Int64

    public init(country: String, status: ShipmentStatus, shard: Int64, change: Int64) {
        self.country = country
        self.status = status
        self.shard = shard
        self.change = change
    }

    /// The counts a shipment moving from `old` (nil: new) to `new` changes:
    /// under every shipment (""), its origin country and its destination
    /// country — once when both are one country, as a listing by country
    /// shows it once.
    public static func changes(
        of shipment: StoredShipment, from old: ShipmentStatus?, to new: ShipmentStatus
    ) -> [ShipmentCountChange] {
        guard old != new else { return [] }
        var countries = ["", shipment.originCountry]
        if shipment.destinationCountry != shipment.originCountry { countries.append(shipment.destinationCountry) }
        let shard = shipment.seq % LogisticsCountsSQL.shards
        var changes: [ShipmentCountChange] = []
        for country in countries {
            if let old { changes.append(ShipmentCountChange(country: country, status: old, shard: shard, change: -1)) }
            changes.append(ShipmentCountChange(country: country, status: new, shard: shard, change: 1))
        }
        return changes
    }
}

/// The logistics service's writes, once for every store: each runs inside
/// one transaction (``LogisticsStore/write(_:)``) with its idempotency key.
enum LogisticsWorkflow {
    /// Adds an active link; answers it and the network after it.
    nonisolated(nonsending) static func addLink(
        _ link: RailLink, write: IdempotentWrite, in transaction: some LogisticsTransaction
    ) async throws -> (AddLinkResponse, NetworkData) {
        let response = try await IdempotencyLedger.once(write, in: transaction) {
            try await transaction.lockNetwork()
            let seq = try await transaction.nextLinkSeq()
            let stored = LogisticsRecords.added(link, seq: seq)
            try await transaction.insertLink(stored, seq: seq)
            try await transaction.bumpNetworkVersion()
            return AddLinkResponse(link: stored)
        }
        return (response, try await transaction.network())
    }

    /// Marks a link inactive (NOT_FOUND for an unknown id); answers it and
    /// the network after it.
    nonisolated(nonsending) static func retireLink(
        id: String, write: IdempotentWrite, in transaction: some LogisticsTransaction
    ) async throws -> (RetireLinkResponse, NetworkData) {
        let response = try await IdempotencyLedger.once(write, in: transaction) {
            try await transaction.lockNetwork()
            guard var link = try await transaction.link(id: id) else { throw LogisticsRecords.noLink(id) }
            if link.active {
                try await transaction.retireLink(id: id)
                try await transaction.bumpNetworkVersion()
                link.active = false
            }
            return RetireLinkResponse(link: link)
        }
        return (response, try await transaction.network())
    }

    /// Stores a new shipment and its BOOKED event, and counts it.
    nonisolated(nonsending) static func bookShipment(
        _ draft: ShipmentDraft, write: IdempotentWrite, in transaction: some LogisticsTransaction
    ) async throws -> BookShipmentResponse {
        try await IdempotencyLedger.once(write, in: transaction) {
            let seq = try await transaction.nextShipmentSeq()
            let (shipment, event) = LogisticsRecords.booked(draft, seq: seq)
            let stored = StoredShipment(
                seq: seq, shipment: shipment, originCountry: draft.originCountry,
                destinationCountry: draft.destinationCountry)
            try await transaction.insertShipment(ShipmentBooking(stored: stored, event: event))
            try await transaction.changeShipmentCounts(
                ShipmentCountChange.changes(of: stored, from: nil, to: shipment.status))
            return BookShipmentResponse(shipment: shipment)
        }
    }

    /// Stores generated shipments with their histories, and counts them.
    nonisolated(nonsending) static func recordShipments(
        _ shipments: [ShipmentHistory], in transaction: some LogisticsTransaction
    ) async throws {
        try await transaction.insertShipments(shipments)
        var merged: [ShipmentCountChange: Int64] = [:]
        for history in shipments {
            for change in ShipmentCountChange.changes(of: history.stored, from: nil, to: history.stored.shipment.status)
            {
                var key = change
                key.change = 0
                merged[key, default: 0] += change.change
            }
        }
        let changes = merged.map { key, change in
            var total = key
            total.change = change
            return total
        }
        try await transaction.changeShipmentCounts(
            changes.sorted { ($0.country, $0.status.rawValue, $0.shard) < ($1.country, $1.status.rawValue, $1.shard) })
    }

    /// Records an event if ``ShipmentStateMachine`` allows it after the
    /// shipment's current status (NOT_FOUND for an unknown shipment).
    nonisolated(nonsending) static func recordEvent(
        shipmentID: String, _ draft: ShipmentStateMachine.EventDraft, write: IdempotentWrite,
        in transaction: some LogisticsTransaction
    ) async throws -> RecordShipmentEventResponse {
        try await IdempotencyLedger.once(write, in: transaction) {
            guard let stored = try await transaction.lockShipment(id: shipmentID) else {
                throw LogisticsRecords.noShipment(shipmentID)
            }
            let last = try await transaction.lastEventSequence(shipmentSeq: stored.seq)
            let (event, updated) = try ShipmentStateMachine.apply(draft, to: stored.shipment, sequence: last + 1)
            try await transaction.insertEvent(event, shipmentSeq: stored.seq)
            try await transaction.updateShipment(updated, seq: stored.seq)
            try await transaction.changeShipmentCounts(
                ShipmentCountChange.changes(of: stored, from: stored.shipment.status, to: updated.status))
            return RecordShipmentEventResponse(event: event, shipment: updated)
        }
    }
}
