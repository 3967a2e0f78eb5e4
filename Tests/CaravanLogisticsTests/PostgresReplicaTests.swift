import CaravanCore
import CaravanInProcess
import CaravanLogistics
import CaravanLogisticsAPI
import CaravanPostgres
import CaravanTestSupport
import Testing

/// Two replicas, each with its own connection pool, on one PostgreSQL
/// database, taking writes at the same time — as replicas on two hosts do.
@Suite(
    "Replicas on one PostgreSQL", .timeLimit(.minutes(2)),
    .enabled(if: TestPostgres.isEnabled, Comment(rawValue: TestPostgres.skipReason)))
struct PostgresReplicaTests {
    /// Runs `body` with clients of two replicas on one fresh, migrated database.
    func withTwoReplicas(
        _ body: (LogisticsServiceClient, LogisticsServiceClient) async throws -> Void
    ) async throws {
        try await TestPostgres.withMigratedCopy(LogisticsPostgresMigrations.all) { settings in
            try await TestPostgres.withDatabase(settings, migrations: LogisticsPostgresMigrations.all) { one in
                try await TestPostgres.withDatabase(settings, migrations: LogisticsPostgresMigrations.all) { two in
                    try await body(Self.client(PostgresLogisticsStore(one)), Self.client(PostgresLogisticsStore(two)))
                }
            }
        }
    }

    static func client(_ store: any LogisticsStore) -> LogisticsServiceClient {
        let provider = LogisticsServiceProvider(store: store, networkRecheckInterval: .zero)
        return LogisticsServiceClient(
            wrapping: RPCClient(
                transport: InProcessTransport(serving: [provider]), retryPolicy: RetryPolicy(maxAttempts: 1)))
    }

    static func booking(key: String = "") -> BookShipmentRequest {
        BookShipmentRequest(
            originCityId: "xian", destinationCityId: "duisburg", cargoCategoryId: "auto-parts", containersTeu: 1,
            idempotencyKey: key)
    }

    @Test("Bookings through both replicas at once: every one stored once, each with its own id")
    func concurrentBookings() async throws {
        try await self.withTwoReplicas { a, b in
            let ids = try await withThrowingTaskGroup(of: String.self) { group in
                for index in 0..<40 {
                    let client = index.isMultiple(of: 2) ? a : b
                    group.addTask { try await client.bookShipment(Self.booking()).shipment?.id ?? "" }
                }
                return try await group.reduce(into: [String]()) { $0.append($1) }
            }
            #expect(Set(ids).count == 40)
            #expect(!ids.contains(""))
            #expect(try await a.countShipments(CountShipmentsRequest()).booked == 40)
        }
    }

    @Test("The same idempotency key sent to both replicas at once books one shipment, answered twice")
    func sameKeyOnBothReplicas() async throws {
        try await self.withTwoReplicas { a, b in
            for round in 0..<10 {
                let key = "booking-\(round)"
                async let first = a.bookShipment(Self.booking(key: key))
                async let second = b.bookShipment(Self.booking(key: key))
                let (one, two) = try await (first, second)
                #expect(one.shipment?.id == two.shipment?.id)
                #expect(one == two)
            }
            #expect(try await b.countShipments(CountShipmentsRequest()).booked == 10)
        }
    }

    @Test("Delays recorded on both replicas at once: none lost, sequences contiguous, ETA moved by their sum")
    func concurrentEventsOnOneShipment() async throws {
        // Without the shipment's row lock, two transactions read the same
        // ETA and last sequence: one delay is lost or the second insert
        // collides on (shipment_seq, sequence).
        try await self.withTwoReplicas { a, b in
            let booked = try #require(try await a.bookShipment(Self.booking()).shipment)
            _ = try await b.recordShipmentEvent(RecordShipmentEventRequest(shipmentId: booked.id, kind: .departed))
            let delays = 16
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<delays {
                    let client = index.isMultiple(of: 2) ? a : b
                    group.addTask {
                        _ = try await client.recordShipmentEvent(
                            RecordShipmentEventRequest(shipmentId: booked.id, kind: .delayed, delayHours: 1))
                    }
                }
                try await group.waitForAll()
            }
            let track = try await b.trackShipment(TrackShipmentRequest(id: booked.id))
            #expect(track.events.map(\.sequence) == Array(1...UInt64(delays + 2)))
            #expect(track.shipment?.etaUnixSeconds == booked.etaUnixSeconds + Int64(delays) * 3600)
        }
    }

    @Test("Delivered and cancelled raced on two replicas: exactly one wins, the other is FAILED_PRECONDITION")
    func conflictingTransitions() async throws {
        try await self.withTwoReplicas { a, b in
            for _ in 0..<8 {
                let booked = try #require(try await a.bookShipment(Self.booking()).shipment)
                _ = try await a.recordShipmentEvent(RecordShipmentEventRequest(shipmentId: booked.id, kind: .departed))
                async let delivered = Self.outcome {
                    try await a.recordShipmentEvent(RecordShipmentEventRequest(shipmentId: booked.id, kind: .delivered))
                }
                async let cancelled = Self.outcome {
                    try await b.recordShipmentEvent(RecordShipmentEventRequest(shipmentId: booked.id, kind: .cancelled))
                }
                let outcomes = await [delivered, cancelled]
                #expect(outcomes.filter { $0 == nil }.count == 1, "\(outcomes)")
                #expect(outcomes.contains(.failedPrecondition), "\(outcomes)")
                let track = try await b.trackShipment(TrackShipmentRequest(id: booked.id))
                #expect(track.events.count == 3)
            }
        }
    }

    @Test("Links added on both replicas at once: distinct ids, one network version per change, both see all")
    func concurrentLinkChanges() async throws {
        try await self.withTwoReplicas { a, b in
            let before = try await a.listLinks(ListLinksRequest(pageSize: 1000)).links.count
            let ids = try await withThrowingTaskGroup(of: String.self) { group in
                for index in 0..<12 {
                    let client = index.isMultiple(of: 2) ? a : b
                    group.addTask {
                        try await client.addLink(
                            AddLinkRequest(
                                link: RailLink(
                                    fromCityId: "xian", toCityId: "almaty", transitHours: Double(50 + index),
                                    distanceKm: 3_000))
                        ).link?.id ?? ""
                    }
                }
                return try await group.reduce(into: [String]()) { $0.append($1) }
            }
            #expect(Set(ids).count == 12)
            #expect(try await a.listLinks(ListLinksRequest(pageSize: 1000)).links.count == before + 12)
            #expect(try await b.listLinks(ListLinksRequest(pageSize: 1000)).links.count == before + 12)
        }
    }

    /// nil when `call` succeeds, else its status code.
    static func outcome(_ call: () async throws -> some Any) async -> RPCError.Code? {
        do {
            _ = try await call()
            return nil
        } catch let error as RPCError {
            return error.code
        } catch {
            return .unknown
        }
    }
}
