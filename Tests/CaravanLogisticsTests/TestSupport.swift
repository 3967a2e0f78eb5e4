import CaravanCore
import CaravanInProcess
import CaravanLogistics
import CaravanLogisticsAPI
import CaravanPostgres
import CaravanSQLite
import CaravanTestSupport
import Testing

/// A logistics service on a fresh in-memory database (seeded), and a typed
/// client that reaches it through the in-process transport.
struct TestService {
    let provider: LogisticsServiceProvider
    let client: LogisticsServiceClient
    let store: any LogisticsStore

    init(store: any LogisticsStore, watchPollInterval: Duration = .seconds(2)) {
        self.store = store
        self.provider = LogisticsServiceProvider(store: store, watchPollInterval: watchPollInterval)
        let transport = InProcessTransport(serving: [self.provider])
        // No retries: a test must see the first answer.
        self.client = LogisticsServiceClient(
            wrapping: RPCClient(transport: transport, retryPolicy: RetryPolicy(maxAttempts: 1)))
    }

    func book(
        _ origin: String = "xian", _ destination: String = "duisburg", teu: UInt32 = 2, key: String = ""
    ) async throws -> Shipment {
        let response = try await self.client.bookShipment(
            BookShipmentRequest(
                originCityId: origin, destinationCityId: destination, cargoCategoryId: "auto-parts",
                containersTeu: teu, idempotencyKey: key))
        return try #require(response.shipment)
    }

    func record(_ id: String, _ kind: ShipmentEventKind, at location: String = "", delay: Double = 0, key: String = "")
        async throws -> RecordShipmentEventResponse
    {
        try await self.client.recordShipmentEvent(
            RecordShipmentEventRequest(
                shipmentId: id, kind: kind, locationCityId: location, idempotencyKey: key, delayHours: delay))
    }
}

/// Runs `body` with a service on a fresh seeded database of `backend`: a
/// temporary SQLite file, or a PostgreSQL database of its own (both removed after).
func withTestService(
    _ backend: StoreBackend, watchPollInterval: Duration = .seconds(2), _ body: (TestService) async throws -> Void
) async throws {
    switch backend {
    case .sqlite:
        let database = try SQLiteDatabase.temporary(migrations: LogisticsMigrations.all)
        do {
            try await body(TestService(store: SQLiteLogisticsStore(database), watchPollInterval: watchPollInterval))
            await database.close()
        } catch {
            await database.close()
            throw error
        }
    case .postgres:
        try await TestPostgres.withMigratedDatabase(LogisticsPostgresMigrations.all) { pool in
            try await body(TestService(store: PostgresLogisticsStore(pool), watchPollInterval: watchPollInterval))
        }
    }
}
