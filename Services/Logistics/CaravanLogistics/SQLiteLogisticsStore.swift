import CaravanCore
import CaravanDomain
import CaravanLogisticsAPI
import CaravanSQLite

/// The logistics store on SQLite: writes on the database's one writer,
/// reads on the calling thread's own connection (``SQLiteDatabase``); a
/// filtered listing of shipments runs on the read pool.
public struct SQLiteLogisticsStore: LogisticsStore {
    public let database: SQLiteDatabase

    public init(_ database: SQLiteDatabase) {
        self.database = database
    }

    public func write<T: Sendable>(
        _ body: nonisolated(nonsending) @escaping @Sendable (any LogisticsTransaction) async throws -> T
    ) async throws -> T {
        try await self.database.write { connection in
            try await body(SQLiteLogisticsTransaction(connection: connection))
        }
    }

    // MARK: Network

    public func loadNetwork() async throws -> NetworkData {
        try await self.database.readOffloaded { connection in try LogisticsRows.network(connection) }
    }

    public func networkVersion() async throws -> Int64 {
        try self.database.read { connection in try LogisticsRows.version(connection) }
    }

    // MARK: Shipments

    public func shipment(id: String) async throws -> TrackShipmentResponse? {
        try self.database.read { connection in
            guard let stored = try LogisticsRows.shipment(connection, id: id) else { return nil }
            let events = try connection.all(
                "SELECT sequence, kind, location, note, at FROM shipment_event WHERE shipment_seq = ? ORDER BY sequence",
                stored.seq
            ) { row in
                ShipmentEvent(
                    shipmentId: id, sequence: UInt64(row.int64(0)),
                    kind: ShipmentEventKind(rawValue: Int32(row.int64(1))),
                    locationCityId: row.text(2), note: row.text(3), atUnixSeconds: row.int64(4))
            }
            return TrackShipmentResponse(shipment: stored.shipment, events: events)
        }
    }

    public func listShipments(status: ShipmentStatus, country: String, after: Int64?, limit: Int) async throws
        -> ShipmentPage
    {
        var sql = "SELECT \(LogisticsRows.shipmentColumns) FROM shipment WHERE seq > ?"
        var arguments: [SQLiteValue] = [.integer(after ?? 0)]
        if status != .unspecified {
            sql += " AND status = ?"
            arguments.append(.integer(Int64(status.rawValue)))
        }
        if !country.isEmpty {
            sql += " AND (origin_country = ? OR destination_country = ?)"
            arguments += [.text(country), .text(country)]
        }
        sql += " ORDER BY seq LIMIT ?"
        arguments.append(.integer(Int64(limit + 1)))
        let (statement, values) = (sql, arguments)
        // A filter may scan far past the rows it keeps: off the event loop.
        let rows = try await self.database.readOffloaded { connection in
            try connection.all(statement, arguments: values, as: LogisticsRows.storedShipment)
        }
        return ShipmentPage(
            shipments: rows.prefix(limit).map(\.shipment), nextAfter: rows.count > limit ? rows[limit - 1].seq : nil)
    }

    public func countShipments(country: String) async throws -> [ShipmentStatus: UInt64] {
        try self.database.read { connection in
            var counts: [ShipmentStatus: UInt64] = [:]
            for (status, count) in try connection.all(
                SQLiteConnection.numberedPlaceholders(LogisticsCountsSQL.read), country,
                as: { row in (ShipmentStatus(rawValue: Int32(row.int64(0))), row.int64(1)) })
            {
                counts[status] = UInt64(max(0, count))
            }
            return counts
        }
    }
}

/// ``LogisticsTransaction`` on the SQLite writer's connection. The single
/// writer holds the file's write lock: the "locks" are already held.
struct SQLiteLogisticsTransaction: LogisticsTransaction, IdempotencyLedgerForwarding {
    let connection: SQLiteConnection

    /// The ledger's primitives are the connection's (``IdempotencyLedgerForwarding``).
    var ledger: SQLiteConnection { self.connection }

    nonisolated(nonsending) func lockNetwork() async throws {}

    nonisolated(nonsending) func nextLinkSeq() async throws -> Int64 {
        (try self.connection.one("SELECT MAX(seq) FROM rail_link") { $0.int64(0) } ?? 0) + 1
    }

    nonisolated(nonsending) func insertLink(_ link: RailLink, seq: Int64) async throws {
        try LogisticsRows.insertLink(link, seq: seq, self.connection)
    }

    nonisolated(nonsending) func link(id: String) async throws -> RailLink? {
        try self.connection.one("SELECT \(LogisticsRows.linkColumns) FROM rail_link WHERE id = ?", id) {
            LogisticsRows.link($0, at: 0)
        }
    }

    nonisolated(nonsending) func retireLink(id: String) async throws {
        try self.connection.execute("UPDATE rail_link SET active = 0 WHERE id = ?", id)
    }

    nonisolated(nonsending) func bumpNetworkVersion() async throws {
        try self.connection.execute("UPDATE network_meta SET version = version + 1 WHERE id = 1")
    }

    nonisolated(nonsending) func network() async throws -> NetworkData {
        try LogisticsRows.network(self.connection)
    }

    nonisolated(nonsending) func nextShipmentSeq() async throws -> Int64 {
        // The single writer makes MAX + 1 safe; ids never reuse a number.
        (try self.connection.one("SELECT MAX(seq) FROM shipment") { $0.int64(0) } ?? 0) + 1
    }

    nonisolated(nonsending) func insertShipment(_ booking: ShipmentBooking) async throws {
        let stored = booking.stored
        let shipment = stored.shipment
        try self.connection.execute(
            """
            INSERT INTO shipment (seq, id, origin, destination, origin_country, destination_country, category,
                containers, route, booked_at, eta, status, last_city, synthetic)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            stored.seq, shipment.id, shipment.originCityId, shipment.destinationCityId, stored.originCountry,
            stored.destinationCountry, shipment.cargoCategoryId, Int64(shipment.containersTeu),
            SQLiteBlob(try (shipment.plannedRoute ?? RailRoute()).serializedBytes()), shipment.bookedAtUnixSeconds,
            shipment.etaUnixSeconds, shipment.status.rawValue, shipment.lastCityId, shipment.synthetic)
        try await self.insertEvent(booking.event, shipmentSeq: stored.seq)
    }

    nonisolated(nonsending) func nextShipmentSeqs(count: Int) async throws -> [Int64] {
        let first = try await self.nextShipmentSeq()
        return (0..<Int64(count)).map { first + $0 }
    }

    nonisolated(nonsending) func insertShipments(_ shipments: [ShipmentHistory]) async throws {
        for history in shipments {
            guard let booked = history.events.first else { continue }
            try await self.insertShipment(ShipmentBooking(stored: history.stored, event: booked))
            for event in history.events.dropFirst() {
                try await self.insertEvent(event, shipmentSeq: history.stored.seq)
            }
        }
    }

    nonisolated(nonsending) func lockShipment(id: String) async throws -> StoredShipment? {
        try LogisticsRows.shipment(self.connection, id: id)
    }

    nonisolated(nonsending) func lastEventSequence(shipmentSeq: Int64) async throws -> UInt64 {
        UInt64(
            try self.connection.one("SELECT MAX(sequence) FROM shipment_event WHERE shipment_seq = ?", shipmentSeq) {
                $0.int64(0)
            } ?? 0)
    }

    nonisolated(nonsending) func insertEvent(_ event: ShipmentEvent, shipmentSeq: Int64) async throws {
        try self.connection.execute(
            "INSERT INTO shipment_event (shipment_seq, sequence, kind, location, note, at) VALUES (?, ?, ?, ?, ?, ?)",
            shipmentSeq, Int64(event.sequence), event.kind.rawValue, event.locationCityId, event.note,
            event.atUnixSeconds)
    }

    nonisolated(nonsending) func updateShipment(_ shipment: Shipment, seq: Int64) async throws {
        try self.connection.execute(
            "UPDATE shipment SET status = ?, eta = ?, last_city = ? WHERE seq = ?",
            shipment.status.rawValue, shipment.etaUnixSeconds, shipment.lastCityId, seq)
    }

    nonisolated(nonsending) func changeShipmentCounts(_ changes: [ShipmentCountChange]) async throws {
        for change in changes {
            try self.connection.execute(
                SQLiteConnection.numberedPlaceholders(LogisticsCountsSQL.change), change.country,
                change.status.rawValue, change.shard,
                change.change)
        }
    }
}

/// The SQLite statements and row mappings of the logistics store.
enum LogisticsRows {
    static func version(_ connection: SQLiteConnection) throws -> Int64 {
        try connection.one("SELECT version FROM network_meta WHERE id = 1") { $0.int64(0) } ?? 0
    }

    static func network(_ connection: SQLiteConnection) throws -> NetworkData {
        let cities = try connection.all(
            "SELECT id, name, country, region, is_border_crossing, synthetic, note FROM city ORDER BY seq"
        ) { row in
            RailCity(
                id: row.text(0), name: row.text(1), country: row.text(2), region: Region(rawValue: Int32(row.int64(3))),
                isBorderCrossing: row.bool(4), synthetic: row.bool(5), note: row.text(6))
        }
        let links = try connection.all("SELECT seq, \(Self.linkColumns) FROM rail_link ORDER BY seq") { row in
            StoredLink(seq: row.int64(0), link: Self.link(row, at: 1))
        }
        let categories = try connection.all(
            "SELECT id, name, high_value, synthetic, note FROM cargo_category ORDER BY seq"
        ) { row in
            CargoCategory(
                id: row.text(0), name: row.text(1), highValue: row.bool(2), synthetic: row.bool(3), note: row.text(4))
        }
        return NetworkData(version: try Self.version(connection), cities: cities, links: links, categories: categories)
    }

    static let linkColumns =
        "id, from_city, to_city, transit_hours, distance_km, crossing_city, active, synthetic, note"

    /// A link from `linkColumns`, starting at column `first`.
    static func link(_ row: SQLiteRow, at first: Int32) -> RailLink {
        RailLink(
            id: row.text(first), fromCityId: row.text(first + 1), toCityId: row.text(first + 2),
            transitHours: row.double(first + 3), distanceKm: row.double(first + 4), crossingCityId: row.text(first + 5),
            active: row.bool(first + 6), synthetic: row.bool(first + 7), note: row.text(first + 8))
    }

    static func insertLink(_ link: RailLink, seq: Int64, _ connection: SQLiteConnection) throws {
        try connection.execute(
            """
            INSERT INTO rail_link (seq, id, from_city, to_city, transit_hours, distance_km, crossing_city, active, synthetic, note)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            seq, link.id, link.fromCityId, link.toCityId, link.transitHours, link.distanceKm, link.crossingCityId,
            link.active, link.synthetic, link.note)
    }

    static let shipmentColumns = """
        seq, id, origin, destination, category, containers, route, booked_at, eta, status, last_city, synthetic,
        origin_country, destination_country
        """

    static func storedShipment(_ row: SQLiteRow) throws -> StoredShipment {
        let shipment = Shipment(
            id: row.text(1), originCityId: row.text(2), destinationCityId: row.text(3), cargoCategoryId: row.text(4),
            containersTeu: UInt32(row.int64(5)), plannedRoute: try RailRoute(serializedBytes: row.blob(6)),
            bookedAtUnixSeconds: row.int64(7), etaUnixSeconds: row.int64(8),
            status: ShipmentStatus(rawValue: Int32(row.int64(9))), lastCityId: row.text(10), synthetic: row.bool(11))
        return StoredShipment(
            seq: row.int64(0), shipment: shipment, originCountry: row.text(12), destinationCountry: row.text(13))
    }

    static func shipment(_ connection: SQLiteConnection, id: String) throws -> StoredShipment? {
        try connection.one("SELECT \(Self.shipmentColumns) FROM shipment WHERE id = ?", id, as: Self.storedShipment)
    }
}
