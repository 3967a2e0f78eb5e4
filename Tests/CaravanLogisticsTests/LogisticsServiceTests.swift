import CaravanCore
import CaravanLogistics
import CaravanLogisticsAPI
import CaravanTestSupport
import Foundation
import Testing

@Suite("Logistics service, in process", .timeLimit(.minutes(1)))
struct LogisticsServiceTests {
    @Test("Network statistics answer the published figures, held counts apart", arguments: StoreBackend.available)
    func statistics(backend: StoreBackend) async throws {
        try await withTestService(backend) { service in
            let stats = try await service.client.networkStats(NetworkStatsRequest())
            #expect(stats.chineseCities == 128)
            #expect(stats.europeanDestinations > 229)
            #expect(stats.asianCities > 100)
            #expect(stats.asianCountries == 11)
            #expect(stats.cargoCategories == 53)
            #expect(
                stats.syntheticCities > 0
                    && stats.syntheticCities < stats.chineseCities + stats.europeanDestinations + stats.asianCities)
            #expect(stats.syntheticLinks > 0)
            #expect(stats.borderCrossings >= 2)
            let published = try #require(stats.published)
            #expect(published.chineseCities == PublishedCount(value: 128, moreThan: false))
            #expect(published.europeanDestinations == PublishedCount(value: 229, moreThan: true))
            #expect(published.asianCities == PublishedCount(value: 100, moreThan: true))
            #expect(published.asianCountries?.value == 11)
            #expect(published.cargoCategories?.value == 53)
            #expect(published.varieties == PublishedCount(value: 50_000, moreThan: true))
            #expect(stats.note.contains("synthetic"))
        }
    }

    @Test("Cities, crossings and categories carry their provenance", arguments: StoreBackend.available)
    func provenance(backend: StoreBackend) async throws {
        try await withTestService(backend) { service in
            let horgos = try #require(try await service.client.getCity(GetCityRequest(id: "horgos")).city)
            #expect(horgos.isBorderCrossing && !horgos.synthetic && horgos.country == "CN")
            let alashankou = try #require(try await service.client.getCity(GetCityRequest(id: "alashankou")).city)
            #expect(
                alashankou.isBorderCrossing && alashankou.synthetic, "a crossing the source does not name is synthetic")
            let xian = try #require(try await service.client.getCity(GetCityRequest(id: "xian")).city)
            #expect(xian.name == "Xi'an" && !xian.synthetic)
            let missing = await rpcError { try await service.client.getCity(GetCityRequest(id: "atlantis")) }
            #expect(missing?.code == .notFound)

            let generated = try await service.client.listCities(ListCitiesRequest(country: "de", pageSize: 1_000))
                .cities
            #expect(generated.contains { $0.name == "Duisburg" && !$0.synthetic })
            #expect(generated.filter { $0.synthetic }.allSatisfy { $0.name.hasPrefix("Synthetic") })

            let categories = try await service.client.listCargoCategories(ListCargoCategoriesRequest()).categories
            #expect(categories.count == 53)
            let highValue = try await service.client.listCargoCategories(
                ListCargoCategoriesRequest(highValueOnly: true)
            )
            .categories
            #expect(Set(highValue.map(\.name)) == ["Auto parts", "Electronics", "Industrial machinery"])
            #expect(highValue.allSatisfy { !$0.synthetic })
            #expect(categories.filter(\.synthetic).count == 47)
        }
    }

    @Test("Paging through all cities returns each once", arguments: StoreBackend.available)
    func paging(backend: StoreBackend) async throws {
        try await withTestService(backend) { service in
            var token = ""
            var ids: [String] = []
            var pages = 0
            repeat {
                let page = try await service.client.listCities(ListCitiesRequest(pageSize: 64, pageToken: token))
                ids += page.cities.map(\.id)
                token = page.nextPageToken
                pages += 1
            } while !token.isEmpty && pages < 100
            let stats = try await service.client.networkStats(NetworkStatsRequest())
            #expect(ids.count == Int(stats.chineseCities + stats.europeanDestinations + stats.asianCities))
            #expect(Set(ids).count == ids.count)
            let crossings = try await service.client.listCities(ListCitiesRequest(borderCrossingsOnly: true)).cities
            #expect(crossings.allSatisfy(\.isBorderCrossing) && crossings.count == Int(stats.borderCrossings))
            let bad = await rpcError { try await service.client.listCities(ListCitiesRequest(pageToken: "1.2.3.4")) }
            #expect(bad?.code == .invalidArgument)
        }
    }

    @Test(
        "Xi'an to Duisburg: contiguous legs through Central Asia; avoiding a crossing; alternatives",
        arguments: StoreBackend.available)
    func routes(backend: StoreBackend) async throws {
        try await withTestService(backend) { service in
            let fastest = try #require(
                try await service.client.findRoute(FindRouteRequest(fromCityId: "xian", toCityId: "duisburg")).routes
                    .first)
            #expect(fastest.legs.first?.fromCityId == "xian")
            #expect(fastest.legs.last?.toCityId == "duisburg")
            for (leg, next) in zip(fastest.legs, fastest.legs.dropFirst()) { #expect(leg.toCityId == next.fromCityId) }
            #expect(abs(fastest.totalHours - fastest.legs.reduce(0) { $0 + $1.transitHours }) < 1e-9)
            #expect(fastest.crossings.contains { $0 == "alashankou" || $0 == "horgos" })
            #expect(fastest.synthetic == fastest.legs.contains(where: \.synthetic))

            let viaHorgos = try #require(
                try await service.client.findRoute(
                    FindRouteRequest(
                        fromCityId: "xian", toCityId: "duisburg", avoidCrossings: ["alashankou"])
                ).routes.first)
            #expect(viaHorgos.crossings.contains("horgos"))
            #expect(!viaHorgos.legs.contains { $0.fromCityId == "alashankou" || $0.toCityId == "alashankou" })
            #expect(viaHorgos.totalHours >= fastest.totalHours)

            let three = try await service.client.findRoute(
                FindRouteRequest(fromCityId: "xian", toCityId: "duisburg", alternatives: 3)
            ).routes
            #expect(three.count == 3)
            #expect(three.map(\.totalHours) == three.map(\.totalHours).sorted())
            #expect(three.first == fastest)
            #expect(Set(three.map { $0.legs.map(\.linkId) }).count == 3)

            let noRoute = await rpcError {
                try await service.client.findRoute(
                    FindRouteRequest(fromCityId: "hanoi", toCityId: "duisburg", avoidCountries: ["CN"]))
            }
            #expect(noRoute?.code == .notFound)
            #expect(noRoute?.message.contains("No route from hanoi to duisburg") == true)
        }
    }

    @Test("Bad input is INVALID_ARGUMENT naming the field, and nothing is stored", arguments: StoreBackend.available)
    func validation(backend: StoreBackend) async throws {
        try await withTestService(backend) { service in
            let cases: [(String, () async throws -> Void)] = [
                (
                    "from_city_id",
                    {
                        _ = try await service.client.findRoute(
                            FindRouteRequest(fromCityId: "nowhere", toCityId: "duisburg"))
                    }
                ),
                (
                    "to_city_id",
                    { _ = try await service.client.findRoute(FindRouteRequest(fromCityId: "xian", toCityId: "xian")) }
                ),
                (
                    "avoid_countries",
                    {
                        _ = try await service.client.findRoute(
                            FindRouteRequest(fromCityId: "xian", toCityId: "duisburg", avoidCountries: ["ZZ"]))
                    }
                ),
                (
                    "avoid_crossings",
                    {
                        _ = try await service.client.findRoute(
                            FindRouteRequest(fromCityId: "xian", toCityId: "duisburg", avoidCrossings: ["almaty"]))
                    }
                ),
                ("origin_city_id", { _ = try await service.book("nowhere", "duisburg") }),
                ("destination_city_id", { _ = try await service.book("xian", "xian") }),
                ("containers_teu", { _ = try await service.book(teu: 0) }),
                (
                    "cargo_category_id",
                    {
                        _ = try await service.client.bookShipment(
                            BookShipmentRequest(
                                originCityId: "xian", destinationCityId: "duisburg", cargoCategoryId: "unobtainium",
                                containersTeu: 1))
                    }
                ),
                (
                    "link.transit_hours",
                    {
                        _ = try await service.client.addLink(
                            AddLinkRequest(
                                link: RailLink(
                                    fromCityId: "xian", toCityId: "almaty", transitHours: 0, distanceKm: 3_000)))
                    }
                ),
                (
                    "link.transit_hours",
                    {
                        _ = try await service.client.addLink(
                            AddLinkRequest(
                                link: RailLink(
                                    fromCityId: "xian", toCityId: "almaty", transitHours: -5, distanceKm: 3_000)))
                    }
                ),
                (
                    "link.from_city_id",
                    {
                        _ = try await service.client.addLink(
                            AddLinkRequest(
                                link: RailLink(
                                    fromCityId: "nowhere", toCityId: "almaty", transitHours: 5, distanceKm: 3_000)))
                    }
                ),
                (
                    "link.crossing_city_id",
                    {
                        _ = try await service.client.addLink(
                            AddLinkRequest(
                                link: RailLink(
                                    fromCityId: "xian", toCityId: "almaty", transitHours: 5, distanceKm: 3_000,
                                    crossingCityId: "horgos")))
                    }
                ),
                ("kind", { _ = try await service.record("shp-00000001", .booked) }),
            ]
            for (field, call) in cases {
                let error = await rpcError(call)
                #expect(error?.code == .invalidArgument, "\(field): \(String(describing: error))")
                #expect(error?.message.hasPrefix(field + ":") == true, "\(field): \(String(describing: error))")
            }
            #expect(try await service.client.listShipments(ListShipmentsRequest()).shipments.isEmpty)
            let stats = try await service.client.networkStats(NetworkStatsRequest())
            let links = try await service.client.listLinks(ListLinksRequest(includeRetired: true, pageSize: 1_000))
            #expect(links.links.count == Int(stats.activeLinks))
        }
    }

    @Test(
        "Booking: id, route, ETA; the same key books once; a reused key for other content is refused",
        arguments: StoreBackend.available)
    func idempotentBooking(backend: StoreBackend) async throws {
        try await withTestService(backend) { service in
            let first = try await service.book(key: "order-1")
            #expect(first.id.hasPrefix("shp-"))
            #expect(first.status == .booked)
            let route = try #require(first.plannedRoute)
            #expect(first.etaUnixSeconds == first.bookedAtUnixSeconds + Int64((route.totalHours * 3600).rounded()))
            let again = try await service.book(key: "order-1")
            #expect(again == first)

            // The key may also come with the call instead of the request.
            let request = BookShipmentRequest(
                originCityId: "yiwu", destinationCityId: "madrid", cargoCategoryId: "electronics", containersTeu: 40)
            let viaCall = try await service.client.bookShipment(
                request, options: CallOptions(idempotencyKey: "order-2"))
            let viaCallAgain = try await service.client.bookShipment(
                request, options: CallOptions(idempotencyKey: "order-2"))
            #expect(viaCall.shipment?.id == viaCallAgain.shipment?.id)
            #expect(viaCall.shipment?.id != first.id)

            let reused = await rpcError { try await service.book("chengdu", "lodz", key: "order-1") }
            #expect(reused?.code == .invalidArgument)
            #expect(reused?.message.contains("idempotency_key") == true)

            let unkeyed1 = try await service.book()
            let unkeyed2 = try await service.book()
            #expect(unkeyed1.id != unkeyed2.id, "without a key every call books")
            let all = try await service.client.listShipments(ListShipmentsRequest()).shipments
            #expect(all.count == 4)
            let fromSpain = try await service.client.listShipments(ListShipmentsRequest(country: "ES")).shipments
            #expect(fromSpain.map(\.id) == [viaCall.shipment?.id])
        }
    }

    @Test("Shipments page by key, with filters bound to their token", arguments: StoreBackend.available)
    func shipmentPaging(backend: StoreBackend) async throws {
        try await withTestService(backend) { service in
            var booked: [String] = []
            for destination in ["duisburg", "almaty", "hamburg", "tashkent", "madrid", "almaty", "lodz"] {
                booked.append(try await service.book("xian", destination).id)
            }
            var token = ""
            var seen: [String] = []
            repeat {
                let page = try await service.client.listShipments(ListShipmentsRequest(pageSize: 3, pageToken: token))
                #expect(page.shipments.count <= 3)
                seen += page.shipments.map(\.id)
                token = page.nextPageToken
            } while !token.isEmpty && seen.count < 100
            #expect(seen == booked)
            let kazakh = try await service.client.listShipments(ListShipmentsRequest(country: "kz", pageSize: 1))
            #expect(kazakh.shipments.map(\.id) == [booked[1]])
            let wrongFilter = await rpcError {
                try await service.client.listShipments(
                    ListShipmentsRequest(country: "UZ", pageToken: kazakh.nextPageToken))
            }
            #expect(wrongFilter?.code == .invalidArgument)
            let next = try await service.client.listShipments(
                ListShipmentsRequest(country: "KZ", pageSize: 1, pageToken: kazakh.nextPageToken))
            #expect(next.shipments.map(\.id) == [booked[5]])
        }
    }

    @Test("Shipments counted by status, in all and by country", arguments: StoreBackend.available)
    func counts(backend: StoreBackend) async throws {
        try await withTestService(backend) { service in
            #expect(try await service.client.countShipments(CountShipmentsRequest()) == CountShipmentsResponse())
            let toAlmaty = try await service.book("xian", "almaty")
            let toDuisburg = try await service.book("xian", "duisburg")
            _ = try await service.book("xian", "tashkent")
            _ = try await service.record(toAlmaty.id, .departed)
            _ = try await service.record(toDuisburg.id, .cancelled)
            #expect(
                try await service.client.countShipments(CountShipmentsRequest())
                    == CountShipmentsResponse(booked: 1, inTransit: 1, delivered: 0, cancelled: 1))
            #expect(
                try await service.client.countShipments(CountShipmentsRequest(country: "kz"))
                    == CountShipmentsResponse(inTransit: 1))
            let bad = await rpcError { try await service.client.countShipments(CountShipmentsRequest(country: "K")) }
            #expect(bad?.code == .invalidArgument)
        }
    }

    @Test("Status events: legal transitions only; refused ones store nothing", arguments: StoreBackend.available)
    func lifecycle(backend: StoreBackend) async throws {
        try await withTestService(backend) { service in
            let shipment = try await service.book()
            let early = await rpcError { try await service.record(shipment.id, .delivered) }
            #expect(early?.code == .failedPrecondition)
            let crossedEarly = await rpcError { try await service.record(shipment.id, .crossedBorder, at: "horgos") }
            #expect(crossedEarly?.code == .failedPrecondition)
            #expect(try await service.client.trackShipment(TrackShipmentRequest(id: shipment.id)).events.count == 1)

            let departed = try await service.record(shipment.id, .departed, at: "xian", key: "dep")
            #expect(departed.shipment?.status == .inTransit)
            #expect(departed.event?.sequence == 2)
            let repeated = try await service.record(shipment.id, .departed, at: "xian", key: "dep")
            #expect(repeated == departed, "an idempotent retry answers the first answer")
            let twice = await rpcError { try await service.record(shipment.id, .departed, at: "xian") }
            #expect(twice?.code == .failedPrecondition)

            let notCrossing = await rpcError { try await service.record(shipment.id, .crossedBorder, at: "almaty") }
            #expect(notCrossing?.code == .invalidArgument)
            _ = try await service.record(shipment.id, .crossedBorder, at: "alashankou")
            let delayed = try await service.record(shipment.id, .delayed, delay: 12)
            #expect(delayed.shipment?.etaUnixSeconds == shipment.etaUnixSeconds + 12 * 3600)
            let delivered = try await service.record(shipment.id, .delivered)
            #expect(delivered.shipment?.status == .delivered)
            #expect(delivered.shipment?.lastCityId == "duisburg")
            let after = await rpcError { try await service.record(shipment.id, .cancelled) }
            #expect(after?.code == .failedPrecondition)

            let track = try await service.client.trackShipment(TrackShipmentRequest(id: shipment.id))
            #expect(track.events.map(\.kind) == [.booked, .departed, .crossedBorder, .delayed, .delivered])
            #expect(track.events.map(\.sequence) == [1, 2, 3, 4, 5])
            #expect(track.shipment?.status == .delivered)
            let delivered2 = try await service.client.listShipments(ListShipmentsRequest(status: .delivered)).shipments
            #expect(delivered2.map(\.id) == [shipment.id])
            let unknown = await rpcError { try await service.record("shp-99999999", .departed) }
            #expect(unknown?.code == .notFound)
        }
    }

    @Test(
        "Adding and retiring links changes routes at once (the snapshot is rebuilt)", arguments: StoreBackend.available)
    func linkChanges(backend: StoreBackend) async throws {
        try await withTestService(backend) { service in
            let before = try #require(
                try await service.client.findRoute(FindRouteRequest(fromCityId: "xian", toCityId: "duisburg")).routes
                    .first)
            let added = try #require(
                try await service.client.addLink(
                    AddLinkRequest(
                        link: RailLink(
                            fromCityId: "xian", toCityId: "duisburg", transitHours: 100, distanceKm: 9_000,
                            note: "test express"),
                        idempotencyKey: "express")
                ).link)
            #expect(added.active && added.id.hasPrefix("lnk-"))
            let again = try #require(
                try await service.client.addLink(
                    AddLinkRequest(
                        link: RailLink(
                            fromCityId: "xian", toCityId: "duisburg", transitHours: 100, distanceKm: 9_000,
                            note: "test express"),
                        idempotencyKey: "express")
                ).link)
            #expect(again.id == added.id)
            let direct = try #require(
                try await service.client.findRoute(FindRouteRequest(fromCityId: "xian", toCityId: "duisburg")).routes
                    .first)
            #expect(direct.legs.map(\.linkId) == [added.id])

            let retired = try #require(try await service.client.retireLink(RetireLinkRequest(id: added.id)).link)
            #expect(!retired.active)
            _ = try await service.client.retireLink(RetireLinkRequest(id: added.id))  // twice is fine
            let after = try #require(
                try await service.client.findRoute(FindRouteRequest(fromCityId: "xian", toCityId: "duisburg")).routes
                    .first)
            #expect(after == before)
            let listed = try await service.client.listLinks(ListLinksRequest(cityId: "xian", includeRetired: true))
                .links
            #expect(listed.contains { $0.id == added.id && !$0.active })
            let active = try await service.client.listLinks(ListLinksRequest(cityId: "xian")).links
            #expect(!active.contains { $0.id == added.id })
            let missing = await rpcError { try await service.client.retireLink(RetireLinkRequest(id: "lnk-999999")) }
            #expect(missing?.code == .notFound)
        }
    }

    @Test(
        "Links by country: an end in it or its crossing; other links left out; bad codes refused",
        arguments: StoreBackend.available)
    func linksByCountry(backend: StoreBackend) async throws {
        try await withTestService(backend) { service in
            let all = try await service.client.listLinks(ListLinksRequest(pageSize: 1_000)).links
            var cityCountry: [String: String] = [:]
            var token = ""
            repeat {
                let page = try await service.client.listCities(ListCitiesRequest(pageSize: 1_000, pageToken: token))
                for city in page.cities { cityCountry[city.id] = city.country }
                token = page.nextPageToken
            } while !token.isEmpty
            let kazakh = try await service.client.listLinks(ListLinksRequest(pageSize: 1_000, country: "kz")).links
            let expected = all.filter { link in
                [link.fromCityId, link.toCityId, link.crossingCityId].contains { cityCountry[$0] == "KZ" }
            }
            #expect(!kazakh.isEmpty && kazakh.count < all.count)
            #expect(kazakh.map(\.id) == expected.map(\.id))
            #expect(kazakh.contains { !$0.crossingCityId.isEmpty })
            let bad = await rpcError { try await service.client.listLinks(ListLinksRequest(country: "XX")) }
            #expect(bad?.code == .invalidArgument)
        }
    }

    @Test(
        "A watcher gets the history, then events recorded by another client, and ends at delivery",
        arguments: StoreBackend.available)
    func watch(backend: StoreBackend) async throws {
        try await withTestService(backend) { service in
            let shipment = try await service.book()
            let events = try await withThrowingTaskGroup(of: [WatchShipmentResponse].self) { group in
                group.addTask {
                    try await service.client.watchShipment(WatchShipmentRequest(id: shipment.id)) { stream in
                        var received: [WatchShipmentResponse] = []
                        for try await message in stream { received.append(message) }
                        return received
                    }
                }
                // Wait until the watcher is subscribed, then write as another client would.
                _ = try await eventually { service.provider.broadcaster.watcherCount > 0 }
                _ = try await service.record(shipment.id, .departed, at: "xian")
                _ = try await service.record(shipment.id, .crossedBorder, at: "alashankou")
                _ = try await service.record(shipment.id, .delivered)
                return try await group.next() ?? []
            }
            #expect(events.compactMap(\.event?.sequence) == [1, 2, 3, 4])
            #expect(events.map(\.status) == [.booked, .inTransit, .inTransit, .delivered])
            #expect(service.provider.broadcaster.watcherCount == 0, "the watcher unsubscribed")

            // Resuming after a sequence replays only what follows, and ends (final).
            let resumed = try await service.client.watchShipment(
                WatchShipmentRequest(id: shipment.id, afterSequence: 2)
            ) {
                stream in
                var received: [UInt64] = []
                for try await message in stream { received.append(message.event?.sequence ?? 0) }
                return received
            }
            #expect(resumed == [3, 4])
            let unknown = await rpcError {
                try await service.client.watchShipment(WatchShipmentRequest(id: "shp-99999999")) { stream in
                    for try await _ in stream {}
                }
            }
            #expect(unknown?.code == .notFound)
        }
    }

    @Test("A watcher whose caller cancels unsubscribes", arguments: StoreBackend.available)
    func watchCancel(backend: StoreBackend) async throws {
        try await withTestService(backend) { service in
            let shipment = try await service.book()
            let task = Task {
                try await service.client.watchShipment(WatchShipmentRequest(id: shipment.id)) { stream in
                    for try await _ in stream {}
                }
            }
            _ = try await eventually { service.provider.broadcaster.watcherCount > 0 }
            #expect(service.provider.broadcaster.watcherCount == 1)
            task.cancel()
            _ = await task.result
            _ = try await eventually { service.provider.broadcaster.watcherCount == 0 }
            #expect(service.provider.broadcaster.watcherCount == 0)
        }
    }

    @Test("The seed is deterministic and every city is reachable from Xi'an")
    func seed() {
        let one = SeedNetwork.build()
        let two = SeedNetwork.build()
        #expect(one.cities == two.cities)
        #expect(one.links == two.links)
        #expect(Set(one.cities.map(\.id)).count == one.cities.count)
        let snapshot = NetworkSnapshot(one)
        var finder = RouteFinder(graph: snapshot.graph)
        let xian = snapshot.cityIndex["xian"]!
        for index in 0..<Int32(snapshot.cities.count) where index != xian {
            #expect(finder.fastest(from: xian, to: index) != nil, "\(snapshot.cities[Int(index)].id)")
        }
        // Only Horgos/Khorgos is a crossing the source names; others are synthetic.
        let crossings = one.cities.filter(\.isBorderCrossing)
        #expect(Set(crossings.filter { !$0.synthetic }.map(\.id)) == ["horgos", "khorgos"])
    }
}
