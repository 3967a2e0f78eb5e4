import CaravanCLI
import CaravanCore
import CaravanLogisticsAPI
import CaravanServiceKit
import CaravanTestSupport
import Foundation
import Testing

/// The real `caravan-logistics` executable, driven by `caravan call` and by
/// a TCP client.
@Suite("caravan-logistics end to end", .serialized, .timeLimit(.minutes(3)))
struct LogisticsEndToEndTests {
    static let service = "caravan.logistics.v1.LogisticsService"

    static func call(_ address: String, _ method: String, _ json: String, key: String? = nil) async throws
        -> CommandResult
    {
        var arguments = ["call", "--compact", "--timeout", "10s"]
        if let key { arguments += ["--idempotency-key", key] }
        return try await runCommand(
            "caravan", arguments + [address, "\(Self.service)/\(method)", json], timeout: .seconds(30))
    }

    @Test("Statistics, routes, booking, events and a watch stream fed by another client")
    func callAndWatch() async throws {
        try await withTemporaryDirectory("logistics-e2e") { directory in
            let server = try await ServerProcess("caravan-logistics", ["--port", "0", "--data-dir", directory])
            let address = server.address

            let stats = try await Self.call(address, "NetworkStats", "{}")
            #expect(stats.status == 0, "\(stats.stderr)")
            let figures = try jsonObject(stats.stdout)
            #expect(figures["chineseCities"] as? Int == 128)
            #expect(figures["cargoCategories"] as? Int == 53)
            #expect((figures["europeanDestinations"] as? Int ?? 0) > 229)

            let route = try await Self.call(
                address, "FindRoute", #"{"fromCityId":"xian","toCityId":"duisburg","avoidCrossings":["alashankou"]}"#)
            #expect(route.status == 0, "\(route.stderr)")
            let routes = try jsonObject(route.stdout)["routes"] as? [[String: Any]] ?? []
            #expect((routes.first?["crossings"] as? [String])?.contains("horgos") == true)

            let unknown = try await Self.call(address, "FindRoute", #"{"fromCityId":"atlantis","toCityId":"duisburg"}"#)
            #expect(unknown.status == 64 + 3)
            #expect(unknown.stderr.contains("INVALID_ARGUMENT: from_city_id"))

            let booking =
                #"{"originCityId":"chongqing","destinationCityId":"duisburg","cargoCategoryId":"electronics","containersTeu":41}"#
            let booked = try await Self.call(address, "BookShipment", booking, key: "e2e-booking-1")
            #expect(booked.status == 0, "\(booked.stderr)")
            let shipment = try jsonObject(booked.stdout)["shipment"] as? [String: Any] ?? [:]
            let id = try #require(shipment["id"] as? String)
            #expect(shipment["status"] as? String == "SHIPMENT_STATUS_BOOKED")
            let again = try await Self.call(address, "BookShipment", booking, key: "e2e-booking-1")
            #expect((try jsonObject(again.stdout)["shipment"] as? [String: Any])?["id"] as? String == id)

            // The watcher: a separate `caravan call` process, one JSON line per event.
            let watch = try ChildProcess(
                path: BuiltProducts.path("caravan"),
                arguments: ["call", "--compact", address, "\(Self.service)/WatchShipment", #"{"id":"\#(id)"}"#],
                standardError: .discarded)
            @Sendable func splitLines(_ text: String) -> [String] { text.split(separator: "\n").map(String.init) }
            func lines() -> [String] { splitLines(watch.output) }

            try await watch.waitForOutput("the history (BOOKED)") { splitLines($0).count >= 1 }
            #expect(lines().first?.contains("SHIPMENT_EVENT_KIND_BOOKED") == true)

            let departed = try await Self.call(
                address, "RecordShipmentEvent",
                #"{"shipmentId":"\#(id)","kind":"SHIPMENT_EVENT_KIND_DEPARTED","locationCityId":"chongqing"}"#)
            #expect(departed.status == 0, "\(departed.stderr)")
            let start = ContinuousClock.now
            try await watch.waitForOutput("the event recorded by another client") { splitLines($0).count >= 2 }
            #expect(lines().dropFirst().first?.contains("SHIPMENT_EVENT_KIND_DEPARTED") == true)
            #expect(lines().dropFirst().first?.contains("SHIPMENT_STATUS_IN_TRANSIT") == true)
            print("logistics e2e: watch saw a new event \(start.duration(to: .now)) after the recording call returned")

            let illegal = try await Self.call(
                address, "RecordShipmentEvent", #"{"shipmentId":"\#(id)","kind":"SHIPMENT_EVENT_KIND_DEPARTED"}"#)
            #expect(illegal.status == 64 + 9)
            #expect(illegal.stderr.contains("FAILED_PRECONDITION"))

            let delivered = try await Self.call(
                address, "RecordShipmentEvent", #"{"shipmentId":"\#(id)","kind":"SHIPMENT_EVENT_KIND_DELIVERED"}"#)
            #expect(delivered.status == 0, "\(delivered.stderr)")
            // Delivery is final: the stream ends and the watcher exits cleanly.
            #expect(try await watch.finish().status == 0, "the watch ends after delivery")
            #expect(lines().count == 3)
            #expect(lines().last?.contains("SHIPMENT_STATUS_DELIVERED") == true)

            let track = try await Self.call(address, "TrackShipment", #"{"id":"\#(id)"}"#)
            #expect((try jsonObject(track.stdout)["events"] as? [Any])?.count == 3)

            #expect(try await server.stop() == 0, "clean exit on SIGTERM; log:\n\(server.log)")
        }
    }

    @Test("Acknowledged bookings survive kill -9")
    func durability() async throws {
        try await withTemporaryDirectory("logistics-e2e") { directory in
            let count = 25
            let server = try await ServerProcess("caravan-logistics", ["--port", "0", "--data-dir", directory])
            let endpoint = try #require(Endpoint(server.address))
            let ids = try await withClient(endpoint) { client in
                let logistics = LogisticsServiceClient(wrapping: client)
                var ids: [String] = []
                for index in 0..<count {
                    let response = try await logistics.bookShipment(
                        BookShipmentRequest(
                            originCityId: "yiwu", destinationCityId: "madrid", cargoCategoryId: "auto-parts",
                            containersTeu: UInt32(index + 1), idempotencyKey: "durable-\(index)"))
                    ids.append(response.shipment?.id ?? "")
                }
                return ids
            }
            #expect(Set(ids).count == count)
            _ = try await server.stop(signal: SIGKILL)

            let restarted = try await ServerProcess("caravan-logistics", ["--port", "0", "--data-dir", directory])
            let restartedEndpoint = try #require(Endpoint(restarted.address))
            try await withClient(restartedEndpoint) { client in
                let logistics = LogisticsServiceClient(wrapping: client)
                for (index, id) in ids.enumerated() {
                    let track = try await logistics.trackShipment(TrackShipmentRequest(id: id))
                    #expect(track.shipment?.containersTeu == UInt32(index + 1))
                    #expect(track.events.count == 1)
                }
                // The idempotency record survived too: a retry books nothing new.
                let retry = try await logistics.bookShipment(
                    BookShipmentRequest(
                        originCityId: "yiwu", destinationCityId: "madrid", cargoCategoryId: "auto-parts",
                        containersTeu: 1, idempotencyKey: "durable-0"))
                #expect(retry.shipment?.id == ids[0])
                let listed = try await logistics.listShipments(ListShipmentsRequest(pageSize: 500))
                #expect(listed.shipments.count == count)
            }
            #expect(try await restarted.stop() == 0)
        }
    }
}
