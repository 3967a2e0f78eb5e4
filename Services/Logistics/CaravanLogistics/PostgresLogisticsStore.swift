import CaravanCore
import CaravanLogisticsAPI
import CaravanPostgres
import Foundation
import Logging
import PostgresNIO

/// The ``LogisticsStore`` on PostgreSQL, for replicas on several hosts
/// sharing one database.
///
/// Every write is one READ COMMITTED transaction that first locks the row
/// its decision depends on, so two replicas never decide from the same
/// stale state:
/// - link changes lock `network_meta` (`FOR UPDATE`): the network changes
///   one transaction at a time, so the next link number and the version
///   bump cannot race, and every committed change has its own version;
/// - an event locks its shipment's row: transitions of one shipment are
///   applied one after another, each checked by ``ShipmentStateMachine``
///   against the status the previous one committed, while different
///   shipments proceed in parallel;
/// - a booking takes its number from the identity sequence, which needs no
///   lock at all.
/// The idempotency key is claimed first in each transaction
/// (``PostgresIdempotencyLedger``). Reads are single statements, except
/// ``loadNetwork()`` and ``shipment(id:)``, which read in one REPEATABLE READ
/// snapshot so the parts agree.
public struct PostgresLogisticsStore: LogisticsStore {
    let pool: PostgresPool

    public init(_ pool: PostgresPool) {
        self.pool = pool
    }

    // MARK: Network

    public func loadNetwork() async throws -> NetworkData {
        try await self.pool.snapshot { connection, logger in try await Self.network(connection, logger) }
    }

    public func networkVersion() async throws -> Int64 {
        try await self.pool.read { connection, logger in
            try await Self.version(connection, logger, lock: false)
        }
    }

    public func addLink(_ link: RailLink, write: IdempotentWrite) async throws -> (AddLinkResponse, NetworkData) {
        try await self.pool.transaction { connection, logger in
            let response = try await PostgresIdempotencyLedger.once(connection, write, logger: logger) {
                _ = try await Self.version(connection, logger, lock: true)
                let seq = try await Self.scalar(connection, logger, "SELECT COALESCE(MAX(seq), 0) + 1 FROM rail_link")
                let stored = LogisticsRecords.added(link, seq: seq)
                try await Self.insertLink(stored, seq: seq, connection, logger)
                try await connection.query("UPDATE network_meta SET version = version + 1 WHERE id = 1", logger: logger)
                return AddLinkResponse(link: stored)
            }
            return (response, try await Self.network(connection, logger))
        }
    }

    public func retireLink(id: String, write: IdempotentWrite) async throws -> (RetireLinkResponse, NetworkData) {
        try await self.pool.transaction { connection, logger in
            let response = try await PostgresIdempotencyLedger.once(connection, write, logger: logger) {
                _ = try await Self.version(connection, logger, lock: true)
                let rows = try await connection.query(
                    "SELECT \(unescaped: Self.linkColumns) FROM rail_link WHERE id = \(id)", logger: logger
                ).collect()
                guard let row = rows.first else { throw LogisticsRecords.noLink(id) }
                var link = try Self.link(row)
                if link.active {
                    try await connection.query("UPDATE rail_link SET active = FALSE WHERE id = \(id)", logger: logger)
                    try await connection.query(
                        "UPDATE network_meta SET version = version + 1 WHERE id = 1", logger: logger)
                    link.active = false
                }
                return RetireLinkResponse(link: link)
            }
            return (response, try await Self.network(connection, logger))
        }
    }

    static func version(_ connection: PostgresConnection, _ logger: Logger, lock: Bool) async throws -> Int64 {
        let sql = "SELECT version FROM network_meta WHERE id = 1" + (lock ? " FOR UPDATE" : "")
        return try await Self.scalar(connection, logger, PostgresQuery(unsafeSQL: sql))
    }

    static func network(_ connection: PostgresConnection, _ logger: Logger) async throws -> NetworkData {
        let version = try await Self.version(connection, logger, lock: false)
        var cities: [RailCity] = []
        for try await (id, name, country, region, border, synthetic, note) in try await connection.query(
            "SELECT id, name, country, region, is_border_crossing, synthetic, note FROM city ORDER BY seq",
            logger: logger
        ).decode((String, String, String, Int64, Bool, Bool, String).self) {
            cities.append(
                RailCity(
                    id: id, name: name, country: country, region: Region(rawValue: Int32(region)),
                    isBorderCrossing: border, synthetic: synthetic, note: note))
        }
        var links: [StoredLink] = []
        for row in try await connection.query(
            "SELECT seq, \(unescaped: Self.linkColumns) FROM rail_link ORDER BY seq", logger: logger
        ).collect() {
            links.append(StoredLink(seq: try row.decode(Int64.self), link: try Self.link(row, offset: 1)))
        }
        var categories: [CargoCategory] = []
        for try await (id, name, highValue, synthetic, note) in try await connection.query(
            "SELECT id, name, high_value, synthetic, note FROM cargo_category ORDER BY seq", logger: logger
        ).decode((String, String, Bool, Bool, String).self) {
            categories.append(CargoCategory(id: id, name: name, highValue: highValue, synthetic: synthetic, note: note))
        }
        return NetworkData(version: version, cities: cities, links: links, categories: categories)
    }

    static let linkColumns =
        "id, from_city, to_city, transit_hours, distance_km, crossing_city, active, synthetic, note"

    /// A link from `linkColumns`, starting at column `offset`.
    static func link(_ row: PostgresRow, offset: Int = 0) throws -> RailLink {
        let cells = row.makeRandomAccess()
        return RailLink(
            id: try cells[offset].decode(String.self), fromCityId: try cells[offset + 1].decode(String.self),
            toCityId: try cells[offset + 2].decode(String.self),
            transitHours: try cells[offset + 3].decode(Double.self),
            distanceKm: try cells[offset + 4].decode(Double.self),
            crossingCityId: try cells[offset + 5].decode(String.self),
            active: try cells[offset + 6].decode(Bool.self), synthetic: try cells[offset + 7].decode(Bool.self),
            note: try cells[offset + 8].decode(String.self))
    }

    static func insertLink(_ link: RailLink, seq: Int64, _ connection: PostgresConnection, _ logger: Logger)
        async throws
    {
        try await connection.query(
            """
            INSERT INTO rail_link (seq, id, from_city, to_city, transit_hours, distance_km, crossing_city, active, synthetic, note)
            VALUES (\(seq), \(link.id), \(link.fromCityId), \(link.toCityId), \(link.transitHours), \(link.distanceKm),
                    \(link.crossingCityId), \(link.active), \(link.synthetic), \(link.note))
            """, logger: logger)
    }

    // MARK: Shipments

    public func bookShipment(_ draft: ShipmentDraft, write: IdempotentWrite) async throws -> BookShipmentResponse {
        try await self.pool.transaction { connection, logger in
            try await PostgresIdempotencyLedger.once(connection, write, logger: logger) {
                let seq = try await Self.scalar(
                    connection, logger, "SELECT nextval(pg_get_serial_sequence('shipment', 'seq'))")
                let (shipment, event) = LogisticsRecords.booked(draft, seq: seq)
                let route = Data(try (shipment.plannedRoute ?? RailRoute()).serializedBytes())
                try await connection.query(
                    """
                    INSERT INTO shipment (seq, id, origin, destination, origin_country, destination_country, category,
                        containers, route, booked_at, eta, status, last_city, synthetic)
                    VALUES (\(seq), \(shipment.id), \(shipment.originCityId), \(shipment.destinationCityId),
                        \(draft.originCountry), \(draft.destinationCountry), \(shipment.cargoCategoryId),
                        \(Int64(shipment.containersTeu)), \(route), \(shipment.bookedAtUnixSeconds),
                        \(shipment.etaUnixSeconds), \(Int64(shipment.status.rawValue)), \(shipment.lastCityId),
                        \(shipment.synthetic))
                    """, logger: logger)
                try await Self.insertEvent(event, shipmentSeq: seq, connection, logger)
                return BookShipmentResponse(shipment: shipment)
            }
        }
    }

    public func shipment(id: String) async throws -> TrackShipmentResponse? {
        try await self.pool.snapshot { connection, logger in
            guard let (seq, shipment) = try await Self.fetchShipment(connection, logger, id: id, lock: false) else {
                return nil
            }
            var events: [ShipmentEvent] = []
            for try await (sequence, kind, location, note, at) in try await connection.query(
                "SELECT sequence, kind, location, note, at FROM shipment_event WHERE shipment_seq = \(seq) ORDER BY sequence",
                logger: logger
            ).decode((Int64, Int64, String, String, Int64).self) {
                events.append(
                    ShipmentEvent(
                        shipmentId: id, sequence: UInt64(sequence), kind: ShipmentEventKind(rawValue: Int32(kind)),
                        locationCityId: location, note: note, atUnixSeconds: at))
            }
            return TrackShipmentResponse(shipment: shipment, events: events)
        }
    }

    public func recordEvent(
        shipmentID: String,
        _ draft: ShipmentStateMachine.EventDraft,
        write: IdempotentWrite
    ) async throws -> RecordShipmentEventResponse {
        try await self.pool.transaction { connection, logger in
            try await PostgresIdempotencyLedger.once(connection, write, logger: logger) {
                // The row lock serialises this shipment's transitions across replicas.
                guard let (seq, shipment) = try await Self.fetchShipment(connection, logger, id: shipmentID, lock: true)
                else {
                    throw LogisticsRecords.noShipment(shipmentID)
                }
                let last = try await Self.scalar(
                    connection, logger,
                    "SELECT COALESCE(MAX(sequence), 0) FROM shipment_event WHERE shipment_seq = \(seq)")
                let (event, updated) = try ShipmentStateMachine.apply(draft, to: shipment, sequence: UInt64(last + 1))
                try await Self.insertEvent(event, shipmentSeq: seq, connection, logger)
                try await connection.query(
                    """
                    UPDATE shipment SET status = \(Int64(updated.status.rawValue)), eta = \(updated.etaUnixSeconds),
                        last_city = \(updated.lastCityId)
                    WHERE seq = \(seq)
                    """, logger: logger)
                return RecordShipmentEventResponse(event: event, shipment: updated)
            }
        }
    }

    public func listShipments(status: ShipmentStatus, country: String, after: Int64?, limit: Int) async throws
        -> ShipmentPage
    {
        var sql = "SELECT seq, \(Self.shipmentColumns) FROM shipment WHERE seq > $1"
        var binds = PostgresBindings()
        binds.append(after ?? 0)
        if status != .unspecified {
            binds.append(Int64(status.rawValue))
            sql += " AND status = $\(binds.count)"
        }
        if !country.isEmpty {
            binds.append(country)
            sql += " AND (origin_country = $\(binds.count) OR destination_country = $\(binds.count))"
        }
        binds.append(Int64(limit + 1))
        sql += " ORDER BY seq LIMIT $\(binds.count)"
        let query = PostgresQuery(unsafeSQL: sql, binds: binds)
        return try await self.pool.read { connection, logger in
            let rows = try await connection.query(query, logger: logger).collect()
            var shipments: [Shipment] = []
            var lastSeq: Int64 = 0
            for row in rows.prefix(limit) {
                lastSeq = try row.makeRandomAccess()[0].decode(Int64.self)
                shipments.append(try Self.shipment(row, offset: 1))
            }
            return ShipmentPage(shipments: shipments, nextAfter: rows.count > limit ? lastSeq : nil)
        }
    }

    public func countShipments(country: String) async throws -> [ShipmentStatus: UInt64] {
        let query: PostgresQuery =
            country.isEmpty
            ? "SELECT status, COUNT(*) FROM shipment GROUP BY status"
            : """
            SELECT status, COUNT(*) FROM shipment WHERE origin_country = \(country) OR destination_country = \(country)
            GROUP BY status
            """
        return try await self.pool.read { connection, logger in
            var counts: [ShipmentStatus: UInt64] = [:]
            for try await (status, count) in try await connection.query(query, logger: logger).decode(
                (Int64, Int64).self)
            {
                counts[ShipmentStatus(rawValue: Int32(status)), default: 0] += UInt64(count)
            }
            return counts
        }
    }

    static let shipmentColumns =
        "id, origin, destination, category, containers, route, booked_at, eta, status, last_city, synthetic"

    /// A shipment from `shipmentColumns`, starting at column `offset`.
    static func shipment(_ row: PostgresRow, offset: Int = 0) throws -> Shipment {
        let cells = row.makeRandomAccess()
        return Shipment(
            id: try cells[offset].decode(String.self), originCityId: try cells[offset + 1].decode(String.self),
            destinationCityId: try cells[offset + 2].decode(String.self),
            cargoCategoryId: try cells[offset + 3].decode(String.self),
            containersTeu: UInt32(try cells[offset + 4].decode(Int64.self)),
            plannedRoute: try RailRoute(serializedBytes: [UInt8](try cells[offset + 5].decode(Data.self))),
            bookedAtUnixSeconds: try cells[offset + 6].decode(Int64.self),
            etaUnixSeconds: try cells[offset + 7].decode(Int64.self),
            status: ShipmentStatus(rawValue: Int32(try cells[offset + 8].decode(Int64.self))),
            lastCityId: try cells[offset + 9].decode(String.self), synthetic: try cells[offset + 10].decode(Bool.self))
    }

    private static func fetchShipment(_ connection: PostgresConnection, _ logger: Logger, id: String, lock: Bool)
        async throws -> (Int64, Shipment)?
    {
        let rows = try await connection.query(
            "SELECT seq, \(unescaped: Self.shipmentColumns) FROM shipment WHERE id = \(id)\(unescaped: lock ? " FOR UPDATE" : "")",
            logger: logger
        ).collect()
        guard let row = rows.first else { return nil }
        return (try row.makeRandomAccess()[0].decode(Int64.self), try Self.shipment(row, offset: 1))
    }

    private static func insertEvent(
        _ event: ShipmentEvent, shipmentSeq: Int64, _ connection: PostgresConnection, _ logger: Logger
    ) async throws {
        try await connection.query(
            """
            INSERT INTO shipment_event (shipment_seq, sequence, kind, location, note, at)
            VALUES (\(shipmentSeq), \(Int64(event.sequence)), \(Int64(event.kind.rawValue)), \(event.locationCityId),
                    \(event.note), \(event.atUnixSeconds))
            """, logger: logger)
    }

    /// The first column of the first row (statements that always answer one row).
    static func scalar(_ connection: PostgresConnection, _ logger: Logger, _ query: PostgresQuery) async throws -> Int64
    {
        for try await value in try await connection.query(query, logger: logger).decode(Int64.self) {
            return value
        }
        throw RPCError(code: .internal, message: "Expected a row from: \(query.sql)")
    }
}
