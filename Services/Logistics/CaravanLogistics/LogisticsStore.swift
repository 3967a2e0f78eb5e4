import CaravanCore
import CaravanLogisticsAPI
import CaravanServiceKit

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

/// Where the logistics service keeps its network and shipments.
///
/// Every write is one transaction that also records its idempotency key:
/// it happens whole or not at all, and a repeated key answers with the
/// first answer.
public protocol LogisticsStore: Sendable {
    /// The whole network at its current version.
    func loadNetwork() async throws -> NetworkData

    /// The network's current version (cheap: to see whether a held
    /// snapshot is stale).
    func networkVersion() async throws -> Int64

    /// Adds an active link; answers the link and the network after it.
    func addLink(_ link: RailLink, write: IdempotentWrite) async throws -> (AddLinkResponse, NetworkData)

    /// Marks a link inactive (NOT_FOUND for an unknown id); answers the
    /// link and the network after it.
    func retireLink(id: String, write: IdempotentWrite) async throws -> (RetireLinkResponse, NetworkData)

    /// Stores a new shipment and its BOOKED event; assigns the id.
    func bookShipment(_ draft: ShipmentDraft, write: IdempotentWrite) async throws -> BookShipmentResponse

    /// A shipment and its events, oldest first; nil when unknown.
    func shipment(id: String) async throws -> TrackShipmentResponse?

    /// Records an event if ``ShipmentStateMachine`` allows it (NOT_FOUND
    /// for an unknown shipment).
    func recordEvent(shipmentID: String, _ draft: ShipmentStateMachine.EventDraft, write: IdempotentWrite) async throws
        -> RecordShipmentEventResponse

    /// Shipments after storage key `after`, oldest first, filtered by status
    /// (unspecified: all) and by origin or destination country ("" all).
    func listShipments(status: ShipmentStatus, country: String, after: Int64?, limit: Int) async throws -> ShipmentPage

    /// How many shipments are in each status, with origin or destination
    /// in `country` ("" all).
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
        let event = ShipmentEvent(
            shipmentId: shipment.id, sequence: 1, kind: .booked, locationCityId: shipment.originCityId,
            note: draft.bookedNote, atUnixSeconds: shipment.bookedAtUnixSeconds)
        return (shipment, event)
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
