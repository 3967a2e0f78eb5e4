import CaravanCore
import CaravanLogisticsAPI

/// A shipment about to be booked: everything but its id.
public struct ShipmentDraft: Sendable, Equatable {
    public var shipment: Shipment
    /// ISO codes of the origin and destination (ListShipments filters on them).
    public var originCountry: String
    public var destinationCountry: String
    public var bookedNote: String

    public init(shipment: Shipment, originCountry: String, destinationCountry: String, bookedNote: String) {
        self.shipment = shipment
        self.originCountry = originCountry
        self.destinationCountry = destinationCountry
        self.bookedNote = bookedNote
    }
}

/// One page of shipments.
public struct ShipmentPage: Sendable {
    public var shipments: [Shipment]
    /// The storage key of the last shipment, when more may follow.
    public var nextAfter: Int64?

    public init(shipments: [Shipment], nextAfter: Int64?) {
        self.shipments = shipments
        self.nextAfter = nextAfter
    }
}

/// Where the logistics service keeps its network and shipments:
/// ``SQLiteLogisticsStore`` (the default) or ``PostgresLogisticsStore``.
///
/// Reads answer from committed data. Writes run their workflow
/// (``LogisticsWorkflow``) inside ``write(_:)``: one transaction, all or
/// nothing, with the idempotency key recorded in it.
public protocol LogisticsStore: Sendable {
    /// Runs `body` in one write transaction; returns once it has committed.
    func write<T: Sendable>(
        _ body: nonisolated(nonsending) @escaping @Sendable (any LogisticsTransaction) async throws -> T
    ) async throws -> T

    /// The whole network at its current version.
    func loadNetwork() async throws -> NetworkData

    /// The network's current version (cheap: to see whether a held
    /// snapshot is stale).
    func networkVersion() async throws -> Int64

    /// A shipment and its events, oldest first; nil when unknown.
    func shipment(id: String) async throws -> TrackShipmentResponse?

    /// Shipments after storage key `after`, oldest first, filtered by status
    /// (unspecified: all) and by origin or destination country ("" all).
    func listShipments(status: ShipmentStatus, country: String, after: Int64?, limit: Int) async throws -> ShipmentPage

    /// How many shipments are in each status, with origin or destination
    /// in `country` ("" all): maintained counts, not a scan.
    func countShipments(country: String) async throws -> [ShipmentStatus: UInt64]
}

/// What both stores decide the same way, whatever the database.
enum LogisticsRecords {
    /// `shp-00000042`: eight digits at least, from the storage key.
    static func shipmentID(_ seq: Int64) -> String {
        let digits = String(seq)
        return "shp-" + String(repeating: "0", count: max(0, 8 - digits.count)) + digits
    }

    /// The shipment as booked under storage key `seq`, and its BOOKED event.
    static func booked(_ draft: ShipmentDraft, seq: Int64) -> (Shipment, ShipmentEvent) {
        var shipment = draft.shipment
        shipment.id = Self.shipmentID(seq)
        shipment.status = .booked
        shipment.lastCityId = shipment.originCityId
        return (shipment, Self.bookedEvent(of: shipment, note: draft.bookedNote))
    }

    /// The first event of every shipment's history.
    static func bookedEvent(of shipment: Shipment, note: String) -> ShipmentEvent {
        ShipmentEvent(
            shipmentId: shipment.id, sequence: 1, kind: .booked, locationCityId: shipment.originCityId,
            note: note, atUnixSeconds: shipment.bookedAtUnixSeconds)
    }

    /// A new link as stored under `seq`: active, with its id.
    static func added(_ link: RailLink, seq: Int64) -> RailLink {
        var stored = link
        stored.id = "lnk-\(seq)"
        stored.active = true
        return stored
    }

    static func noShipment(_ id: String) -> RPCError {
        RPCError(code: .notFound, message: "No shipment \"\(id)\".")
    }

    static func noLink(_ id: String) -> RPCError {
        RPCError(code: .notFound, message: "No rail link \"\(id)\".")
    }
}
