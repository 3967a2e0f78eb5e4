import CaravanCore
import CaravanLogisticsAPI
import Foundation

/// The legal life of a shipment: which event may follow which status, and
/// what each event does to the shipment.
///
/// ```
/// BOOKED ──DEPARTED──▶ IN_TRANSIT ──DELIVERED──▶ DELIVERED (final)
///   │  ◀─DELAYED─┘        │ ◀─ CROSSED_BORDER, ARRIVED_AT_TERMINAL, DELAYED
///   └──CANCELLED──────────┴──CANCELLED──▶ CANCELLED (final)
/// ```
public enum ShipmentStateMachine {
    /// An event a client asks to record, already checked for well-formed fields.
    public struct EventDraft: Sendable, Hashable {
        public var kind: ShipmentEventKind
        public var locationCityID: String
        public var note: String
        public var atUnixSeconds: Int64
        public var delayHours: Double

        public init(
            kind: ShipmentEventKind, locationCityID: String = "", note: String = "", atUnixSeconds: Int64,
            delayHours: Double = 0
        ) {
            self.kind = kind
            self.locationCityID = locationCityID
            self.note = note
            self.atUnixSeconds = atUnixSeconds
            self.delayHours = delayHours
        }
    }

    /// Whether `status` is final (nothing may follow).
    public static func isFinal(_ status: ShipmentStatus) -> Bool {
        status == .delivered || status == .cancelled
    }

    /// The kinds clients may record (BOOKED is the server's own).
    public static let recordableKinds: [ShipmentEventKind] = [
        .departed, .crossedBorder, .arrivedAtTerminal, .delayed, .delivered, .cancelled,
    ]

    /// The status after `kind` happens in `status`; FAILED_PRECONDITION for
    /// an illegal transition.
    public static func next(after status: ShipmentStatus, on kind: ShipmentEventKind) throws(RPCError) -> ShipmentStatus
    {
        switch (status, kind) {
        case (.unspecified, .booked):
            return .booked
        case (.booked, .departed):
            return .inTransit
        case (.booked, .delayed), (.inTransit, .delayed),
            (.inTransit, .crossedBorder), (.inTransit, .arrivedAtTerminal):
            return status
        case (.inTransit, .delivered):
            return .delivered
        case (.booked, .cancelled), (.inTransit, .cancelled):
            return .cancelled
        default:
            throw RPCError(
                code: .failedPrecondition,
                message: "A shipment \(Self.describe(status)) cannot record \(Self.describe(kind))\(Self.hint(status))."
            )
        }
    }

    /// Applies `draft` to `shipment` as event number `sequence`: the new
    /// event and the shipment after it. Throws FAILED_PRECONDITION for an
    /// illegal transition, INVALID_ARGUMENT for a delivery elsewhere than
    /// the destination.
    public static func apply(
        _ draft: EventDraft,
        to shipment: Shipment,
        sequence: UInt64
    ) throws(RPCError) -> (event: ShipmentEvent, shipment: Shipment) {
        let status = try Self.next(after: shipment.status, on: draft.kind)
        var location = draft.locationCityID
        if draft.kind == .delivered {
            if location.isEmpty { location = shipment.destinationCityId }
            guard location == shipment.destinationCityId else {
                throw RPCError.invalidArgument(
                    field: "location_city_id",
                    "a delivery happens at the destination \"\(shipment.destinationCityId)\", not \"\(location)\"")
            }
        }
        var updated = shipment
        updated.status = status
        if !location.isEmpty { updated.lastCityId = location }
        if draft.kind == .delayed {
            updated.etaUnixSeconds += Int64((draft.delayHours * 3600).rounded())
        }
        let event = ShipmentEvent(
            shipmentId: shipment.id,
            sequence: sequence,
            kind: draft.kind,
            locationCityId: location,
            note: draft.note,
            atUnixSeconds: draft.atUnixSeconds
        )
        return (event, updated)
    }

    /// The status after each event of a history, oldest first (for replay
    /// to watchers). Unknown or out-of-order events leave the status as is.
    public static func statuses(along events: [ShipmentEvent]) -> [ShipmentStatus] {
        var status = ShipmentStatus.unspecified
        return events.map { event in
            status = (try? Self.next(after: status, on: event.kind)) ?? status
            return status
        }
    }

    static func describe(_ status: ShipmentStatus) -> String {
        switch status {
        case .booked: return "booked but not departed"
        case .inTransit: return "in transit"
        case .delivered: return "already delivered"
        case .cancelled: return "already cancelled"
        default: return "in status \(status.protoName ?? String(status.rawValue))"
        }
    }

    static func describe(_ kind: ShipmentEventKind) -> String {
        kind.protoName.map { $0.replacingOccurrences(of: "SHIPMENT_EVENT_KIND_", with: "") }
            ?? "event kind \(kind.rawValue)"
    }

    private static func hint(_ status: ShipmentStatus) -> String {
        switch status {
        case .booked: return " (record DEPARTED first)"
        case .delivered, .cancelled: return " (its history is closed)"
        default: return ""
        }
    }
}
