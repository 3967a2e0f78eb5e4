import CaravanCore
import CaravanLogistics
import CaravanLogisticsAPI
import CaravanTestSupport
import Testing

@Suite("Logistics: the live watch of every shipment", .timeLimit(.minutes(1)))
struct ShipmentsWatchTests {
    @Test("WatchShipments opens with `created`, then sends each booking and event, with the shipment after it")
    func watchesEveryShipment() async throws {
        try await withTestService(.sqlite) { service in
            let earlier = try await service.book("xian", "duisburg")  // before the watch: not sent
            let (expected, watched) = try await service.client.watchShipments(WatchShipmentsRequest()) { responses in
                var iterator = responses.makeAsyncIterator()
                let opening = try #require(try await iterator.next())
                #expect(opening.created && opening.event == nil && opening.shipment == nil)
                let booked = try await service.book("chongqing", "duisburg")
                let departed = try await service.record(earlier.id, .departed)
                var watched: [WatchShipmentsResponse] = []
                for _ in 0..<2 { watched.append(try #require(try await iterator.next())) }
                return ((booked, departed), watched)
            }
            let (booked, departed) = expected
            #expect(watched[0].shipment == booked)
            #expect(watched[0].event?.kind == .booked)
            #expect(watched[0].event?.sequence == 1)
            #expect(watched[1].event == departed.event)
            #expect(watched[1].shipment == departed.shipment)

            // The BOOKED event sent live is the one the history keeps.
            let track = try await service.client.trackShipment(TrackShipmentRequest(id: booked.id))
            #expect(track.events.first == watched[0].event)
        }
    }
}
