import CaravanCore
import CaravanLogistics
import CaravanLogisticsAPI
import CaravanTestSupport
import Testing

/// CountShipments reads maintained counts; these must always equal what
/// the shipments themselves say, however they were written.
@Suite("Maintained shipment counts", .timeLimit(.minutes(2)))
struct ShipmentCountsTests {
    /// Every shipment, through the paged listing.
    static func all(_ service: TestService, status: ShipmentStatus = .unspecified, country: String = "") async throws
        -> [Shipment]
    {
        var shipments: [Shipment] = []
        var token = ""
        repeat {
            let page = try await service.client.listShipments(
                ListShipmentsRequest(status: status, country: country, pageSize: 500, pageToken: token))
            shipments += page.shipments
            token = page.nextPageToken
        } while !token.isEmpty
        return shipments
    }

    static func expectCountsMatch(_ service: TestService, countries: [String]) async throws {
        for country in countries {
            let counts = try await service.client.countShipments(CountShipmentsRequest(country: country))
            var listed: [ShipmentStatus: UInt64] = [:]
            for status in [ShipmentStatus.booked, .inTransit, .delivered, .cancelled] {
                listed[status] = UInt64(try await Self.all(service, status: status, country: country).count)
            }
            #expect(
                [counts.booked, counts.inTransit, counts.delivered, counts.cancelled]
                    == [listed[.booked], listed[.inTransit], listed[.delivered], listed[.cancelled]],
                "country \(country.isEmpty ? "(all)" : country)")
        }
    }

    @Test(
        "Bookings, transitions, refused events and repeated keys leave the counts equal to the shipments",
        arguments: StoreBackend.available)
    func workflow(backend: StoreBackend) async throws {
        try await withTestService(backend) { service in
            var shipments: [Shipment] = []
            for (index, (origin, destination)) in [
                ("xian", "duisburg"), ("chongqing", "almaty"), ("yiwu", "tashkent"), ("xian", "almaty"),
            ].enumerated() {
                shipments.append(try await service.book(origin, destination, key: "book-\(index)"))
                // The same key again books nothing and counts nothing.
                _ = try await service.book(origin, destination, key: "book-\(index)")
            }
            _ = try await service.record(shipments[0].id, .departed, key: "d-0")
            _ = try await service.record(shipments[0].id, .departed, key: "d-0")
            _ = try await service.record(shipments[0].id, .delivered)
            _ = try await service.record(shipments[1].id, .cancelled)
            _ = try await service.record(shipments[2].id, .departed)
            // Refused: a delivered shipment cannot depart again.
            _ = await rpcError { try await service.record(shipments[0].id, .departed) }
            try await Self.expectCountsMatch(service, countries: ["", "CN", "KZ", "UZ", "DE", "KG"])
            let all = try await service.client.countShipments(CountShipmentsRequest())
            #expect(all == CountShipmentsResponse(booked: 1, inTransit: 1, delivered: 1, cancelled: 1))
        }
    }

    @Test("Generated shipments are counted as they are stored", arguments: StoreBackend.available)
    func generated(backend: StoreBackend) async throws {
        try await withTestService(backend) { service in
            try await SyntheticShipmentGenerator(seed: 5).generate(count: 1_200, into: service.store)
            try await Self.expectCountsMatch(service, countries: ["", "CN", "KZ", "UZ"])
            let all = try await service.client.countShipments(CountShipmentsRequest())
            #expect(all.booked + all.inTransit + all.delivered + all.cancelled == 1_200)
            let generated = try await Self.all(service)
            #expect(generated.allSatisfy { $0.synthetic })
            // Histories the state machine allows: a delivered one's ends in DELIVERED.
            let delivered = try #require(generated.first { $0.status == .delivered })
            let track = try await service.client.trackShipment(TrackShipmentRequest(id: delivered.id))
            #expect(track.events.map(\.kind) == [.booked, .departed, .delivered])
        }
    }
}
