import CaravanCore
import CaravanInProcess
import CaravanLogistics
import CaravanLogisticsAPI
import CaravanSQLite
import CaravanTestSupport
import Foundation
import Testing

/// Two service instances on one database file, as two replicas would run:
/// link changes and shipment events made through one reach the other.
@Suite("Replicas sharing a database", .timeLimit(.minutes(1)))
struct ReplicaTests {
    static func client(_ provider: LogisticsServiceProvider) -> LogisticsServiceClient {
        LogisticsServiceClient(
            wrapping: RPCClient(
                transport: InProcessTransport(serving: [provider]), retryPolicy: RetryPolicy(maxAttempts: 1)))
    }

    @Test("A link added on one replica routes on the other; its watcher gets the other's events")
    func sharedDatabase() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "logistics-replicas-\(UUID().uuidString)"
        ).path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let database = try SQLiteDatabase.open(
            directory: directory, name: "logistics", durability: .normal, migrations: LogisticsMigrations.all)
        let second = try SQLiteDatabase.open(
            directory: directory, name: "logistics", durability: .normal, migrations: LogisticsMigrations.all)
        let one = LogisticsServiceProvider(
            store: SQLiteLogisticsStore(database), watchPollInterval: .milliseconds(50), networkRecheckInterval: .zero)
        let two = LogisticsServiceProvider(
            store: SQLiteLogisticsStore(second), watchPollInterval: .milliseconds(50), networkRecheckInterval: .zero)
        let (a, b) = (Self.client(one), Self.client(two))

        let before = try #require(
            try await b.findRoute(FindRouteRequest(fromCityId: "xian", toCityId: "duisburg")).routes.first)
        let link = try #require(
            try await a.addLink(
                AddLinkRequest(
                    link: RailLink(fromCityId: "xian", toCityId: "duisburg", transitHours: 90, distanceKm: 9_000))
            ).link)
        let after = try #require(
            try await b.findRoute(FindRouteRequest(fromCityId: "xian", toCityId: "duisburg")).routes.first)
        #expect(after.legs.map(\.linkId) == [link.id])
        #expect(after != before)

        let shipment = try #require(
            try await a.bookShipment(
                BookShipmentRequest(
                    originCityId: "xian", destinationCityId: "duisburg", cargoCategoryId: "electronics",
                    containersTeu: 3)
            ).shipment)
        let statuses = try await withThrowingTaskGroup(of: [ShipmentStatus].self) { group in
            group.addTask {
                try await b.watchShipment(WatchShipmentRequest(id: shipment.id)) { stream in
                    var seen: [ShipmentStatus] = []
                    for try await message in stream { seen.append(message.status) }
                    return seen
                }
            }
            _ = try await eventually { two.broadcaster.watcherCount > 0 }
            // Recorded through the other replica: only the poll can carry them.
            _ = try await a.recordShipmentEvent(RecordShipmentEventRequest(shipmentId: shipment.id, kind: .departed))
            _ = try await a.recordShipmentEvent(RecordShipmentEventRequest(shipmentId: shipment.id, kind: .delivered))
            return try await group.next() ?? []
        }
        #expect(statuses == [.booked, .inTransit, .delivered])
        await database.close()
        await second.close()
    }
}
