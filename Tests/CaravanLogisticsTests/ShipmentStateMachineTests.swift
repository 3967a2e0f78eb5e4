import CaravanCore
import CaravanLogistics
import CaravanLogisticsAPI
import Testing

@Suite("Shipment state machine")
struct ShipmentStateMachineTests {
    static let legal: [ShipmentStatus: [ShipmentEventKind: ShipmentStatus]] = [
        .booked: [.departed: .inTransit, .delayed: .booked, .cancelled: .cancelled],
        .inTransit: [
            .crossedBorder: .inTransit, .arrivedAtTerminal: .inTransit, .delayed: .inTransit,
            .delivered: .delivered, .cancelled: .cancelled,
        ],
        .delivered: [:],
        .cancelled: [:],
    ]

    @Test("Every status × recordable event: legal ones move, the rest are FAILED_PRECONDITION")
    func transitionTable() {
        for (status, allowed) in Self.legal {
            for kind in ShipmentStateMachine.recordableKinds {
                if let expected = allowed[kind] {
                    #expect(
                        (try? ShipmentStateMachine.next(after: status, on: kind)) == expected, "\(status) + \(kind)")
                } else {
                    #expect(throws: RPCError.self, "\(status) + \(kind)") {
                        try ShipmentStateMachine.next(after: status, on: kind)
                    }
                    do {
                        _ = try ShipmentStateMachine.next(after: status, on: kind)
                    } catch {
                        #expect(error.code == .failedPrecondition)
                    }
                }
            }
            // BOOKED is the server's alone, and only at the start.
            #expect(throws: RPCError.self) { try ShipmentStateMachine.next(after: status, on: .booked) }
        }
    }

    @Test("Applying events: sequence, location, eta, delivery at the destination only")
    func apply() throws {
        let shipment = Shipment(
            id: "shp-1", originCityId: "xian", destinationCityId: "duisburg", etaUnixSeconds: 1_000, status: .inTransit,
            lastCityId: "xian")
        let delayed = try ShipmentStateMachine.apply(
            .init(kind: .delayed, note: "snow", atUnixSeconds: 10, delayHours: 2), to: shipment, sequence: 4)
        #expect(delayed.event.sequence == 4)
        #expect(delayed.shipment.etaUnixSeconds == 1_000 + 7_200)
        #expect(delayed.shipment.lastCityId == "xian")
        let crossed = try ShipmentStateMachine.apply(
            .init(kind: .crossedBorder, locationCityID: "horgos", atUnixSeconds: 11), to: shipment, sequence: 5)
        #expect(crossed.shipment.lastCityId == "horgos")
        let delivered = try ShipmentStateMachine.apply(
            .init(kind: .delivered, atUnixSeconds: 12), to: shipment, sequence: 6)
        #expect(delivered.shipment.status == .delivered)
        #expect(delivered.event.locationCityId == "duisburg")
        #expect(throws: RPCError.self) {
            try ShipmentStateMachine.apply(
                .init(kind: .delivered, locationCityID: "warsaw", atUnixSeconds: 12), to: shipment, sequence: 6)
        }
    }

    @Test("Replaying a history gives the status after each event")
    func statuses() {
        let kinds: [ShipmentEventKind] = [.booked, .delayed, .departed, .crossedBorder, .delivered]
        let events = kinds.enumerated().map { ShipmentEvent(sequence: UInt64($0 + 1), kind: $1) }
        #expect(ShipmentStateMachine.statuses(along: events) == [.booked, .booked, .inTransit, .inTransit, .delivered])
    }
}
