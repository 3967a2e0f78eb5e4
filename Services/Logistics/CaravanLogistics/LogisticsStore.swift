import CaravanLogisticsAPI

/// What a write needs for idempotency: the caller's key (nil or empty for
/// none), the method and the serialized request, recorded in the same
/// transaction as the write.
public struct WriteKey: Sendable, Hashable {
    public var key: String?
    public var method: String
    public var request: [UInt8]

    public init(key: String?, method: String, request: [UInt8]) {
        self.key = key
        self.method = method
        self.request = request
    }
}

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
    func addLink(_ link: RailLink, write: WriteKey) async throws -> (AddLinkResponse, NetworkData)

    /// Marks a link inactive (NOT_FOUND for an unknown id); answers the
    /// link and the network after it.
    func retireLink(id: String, write: WriteKey) async throws -> (RetireLinkResponse, NetworkData)

    /// Stores a new shipment and its BOOKED event; assigns the id.
    func bookShipment(_ draft: ShipmentDraft, write: WriteKey) async throws -> BookShipmentResponse

    /// A shipment and its events, oldest first; nil when unknown.
    func shipment(id: String) async throws -> TrackShipmentResponse?

    /// Records an event if ``ShipmentStateMachine`` allows it (NOT_FOUND
    /// for an unknown shipment).
    func recordEvent(shipmentID: String, _ draft: ShipmentStateMachine.EventDraft, write: WriteKey) async throws
        -> RecordShipmentEventResponse

    /// Shipments after storage key `after`, oldest first, filtered by status
    /// (unspecified: all) and by origin or destination country ("" all).
    func listShipments(status: ShipmentStatus, country: String, after: Int64?, limit: Int) async throws -> ShipmentPage
}
