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
