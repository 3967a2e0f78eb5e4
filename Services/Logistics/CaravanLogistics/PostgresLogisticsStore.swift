import CaravanCore
import CaravanDomain
import CaravanLogisticsAPI
import CaravanPostgres
import Foundation
import Logging
import NIOCore
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
///   lock at all;
/// - the maintained counts are upserts, atomic under concurrent writers.
/// The idempotency key is claimed first in each transaction. Reads are
/// single statements (one snapshot each), except ``loadNetwork()``, which
/// reads in one REPEATABLE READ snapshot so its parts agree. The hot
/// statements are prepared once per connection.
public struct PostgresLogisticsStore: LogisticsStore {
    let pool: PostgresPool

    public init(_ pool: PostgresPool) {
        self.pool = pool
    }

    public func write<T: Sendable>(
        _ body: nonisolated(nonsending) @escaping @Sendable (any LogisticsTransaction) async throws -> T
    ) async throws -> T {
        try await self.pool.transaction { connection, logger in
            try await body(
                PostgresLogisticsTransaction(base: PostgresTransaction(connection: connection, logger: logger)))
        }
    }

    // MARK: Network

    public func loadNetwork() async throws -> NetworkData {
        try await self.pool.snapshot { connection, logger in try await Self.network(connection, logger) }
    }

    enum Version: PostgresStatementText {
        static let sql = "SELECT version FROM network_meta WHERE id = 1"
    }

    public func networkVersion() async throws -> Int64 {
        try await self.pool.read { connection, logger in
            try await connection.prepared(Version.self, logger: logger).first?.decode(Int64.self) ?? 0
        }
    }

    static func network(_ connection: PostgresConnection, _ logger: Logger) async throws -> NetworkData {
        let version = try await connection.prepared(Version.self, logger: logger).first?.decode(Int64.self) ?? 0
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

    // MARK: Shipments

    static let shipmentColumns = """
        seq, id, origin, destination, category, containers, route, booked_at, eta, status, last_city, synthetic,
        origin_country, destination_country
        """

    /// A shipment from `shipmentColumns`, starting at column `offset`.
    static func storedShipment(_ cells: PostgresRandomAccessRow, offset: Int = 0) throws -> StoredShipment {
        let shipment = Shipment(
            id: try cells[offset + 1].decode(String.self), originCityId: try cells[offset + 2].decode(String.self),
            destinationCityId: try cells[offset + 3].decode(String.self),
            cargoCategoryId: try cells[offset + 4].decode(String.self),
            containersTeu: UInt32(try cells[offset + 5].decode(Int64.self)),
            plannedRoute: try RailRoute(serializedBytes: [UInt8](try cells[offset + 6].decode(Data.self))),
            bookedAtUnixSeconds: try cells[offset + 7].decode(Int64.self),
            etaUnixSeconds: try cells[offset + 8].decode(Int64.self),
            status: ShipmentStatus(rawValue: Int32(try cells[offset + 9].decode(Int64.self))),
            lastCityId: try cells[offset + 10].decode(String.self), synthetic: try cells[offset + 11].decode(Bool.self))
        return StoredShipment(
            seq: try cells[offset].decode(Int64.self), shipment: shipment,
            originCountry: try cells[offset + 12].decode(String.self),
            destinationCountry: try cells[offset + 13].decode(String.self))
    }

    enum Track: PostgresStatementText {
        // The shipment and its events in one statement: one snapshot.
        static let sql = """
            SELECT s.seq, s.id, s.origin, s.destination, s.category, s.containers, s.route, s.booked_at, s.eta,
                   s.status, s.last_city, s.synthetic, s.origin_country, s.destination_country,
                   e.sequence, e.kind, e.location, e.note, e.at
            FROM shipment AS s LEFT JOIN shipment_event AS e ON e.shipment_seq = s.seq
            WHERE s.id = $1 ORDER BY e.sequence
            """
    }

    public func shipment(id: String) async throws -> TrackShipmentResponse? {
        try await self.pool.read { connection, logger in
            let rows = try await connection.prepared(Track.self, id, logger: logger)
            guard let first = rows.first else { return nil }
            let stored = try Self.storedShipment(first.makeRandomAccess())
            var events: [ShipmentEvent] = []
            for row in rows {
                let cells = row.makeRandomAccess()
                guard let sequence = try cells[14].decode(Int64?.self) else { continue }
                events.append(
                    ShipmentEvent(
                        shipmentId: id, sequence: UInt64(sequence),
                        kind: ShipmentEventKind(rawValue: Int32(try cells[15].decode(Int64.self))),
                        locationCityId: try cells[16].decode(String.self), note: try cells[17].decode(String.self),
                        atUnixSeconds: try cells[18].decode(Int64.self)))
            }
            return TrackShipmentResponse(shipment: stored.shipment, events: events)
        }
    }

    public func listShipments(status: ShipmentStatus, country: String, after: Int64?, limit: Int) async throws
        -> ShipmentPage
    {
        var statement = PostgresStatement("SELECT \(Self.shipmentColumns) FROM shipment")
        statement.append(" WHERE seq > ?", after ?? 0)
        if status != .unspecified { statement.append(" AND status = ?", Int64(status.rawValue)) }
        if !country.isEmpty {
            statement.append(" AND (origin_country = ?", country)
            statement.append(" OR destination_country = ?)", country)
        }
        statement.append(" ORDER BY seq LIMIT ?", Int64(limit + 1))
        let query = statement.query
        return try await self.pool.read { connection, logger in
            let rows = try await connection.query(query, logger: logger).collect().map {
                try Self.storedShipment($0.makeRandomAccess())
            }
            return ShipmentPage(
                shipments: rows.prefix(limit).map(\.shipment), nextAfter: rows.count > limit ? rows[limit - 1].seq : nil
            )
        }
    }

    enum Counts: PostgresStatementText { static let sql = LogisticsCountsSQL.read }

    public func countShipments(country: String) async throws -> [ShipmentStatus: UInt64] {
        try await self.pool.read { connection, logger in
            var counts: [ShipmentStatus: UInt64] = [:]
            for row in try await connection.prepared(Counts.self, country, logger: logger) {
                let (status, count) = try row.decode((Int64, Int64).self)
                counts[ShipmentStatus(rawValue: Int32(status))] = UInt64(max(0, count))
            }
            return counts
        }
    }
}

/// ``LogisticsTransaction`` on one PostgreSQL transaction.
struct PostgresLogisticsTransaction: LogisticsTransaction, IdempotencyLedgerForwarding {
    let base: PostgresTransaction

    /// The ledger's primitives are the transaction's (``IdempotencyLedgerForwarding``).
    var ledger: PostgresTransaction { self.base }

    enum LockNetwork: PostgresStatementText {
        static let sql = "SELECT version FROM network_meta WHERE id = 1 FOR UPDATE"
    }

    nonisolated(nonsending) func lockNetwork() async throws {
        _ = try await self.base.rows(LockNetwork.self)
    }

    enum NextLinkSeq: PostgresStatementText {
        static let sql = "SELECT COALESCE(MAX(seq), 0) + 1 FROM rail_link"
    }

    nonisolated(nonsending) func nextLinkSeq() async throws -> Int64 {
        try await self.base.rows(NextLinkSeq.self).first?.decode(Int64.self) ?? 1
    }

    enum InsertLink: PostgresStatementText {
        static let sql = """
            INSERT INTO rail_link (seq, id, from_city, to_city, transit_hours, distance_km, crossing_city, active, synthetic, note)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
            """
    }

    nonisolated(nonsending) func insertLink(_ link: RailLink, seq: Int64) async throws {
        _ = try await self.base.rows(
            InsertLink.self, seq, link.id, link.fromCityId, link.toCityId, link.transitHours, link.distanceKm,
            link.crossingCityId, link.active, link.synthetic, link.note)
    }

    enum LinkByID: PostgresStatementText {
        static let sql = "SELECT \(PostgresLogisticsStore.linkColumns) FROM rail_link WHERE id = $1"
    }

    nonisolated(nonsending) func link(id: String) async throws -> RailLink? {
        try await self.base.rows(LinkByID.self, id).first.map { try PostgresLogisticsStore.link($0) }
    }

    enum RetireLink: PostgresStatementText {
        static let sql = "UPDATE rail_link SET active = FALSE WHERE id = $1"
    }

    nonisolated(nonsending) func retireLink(id: String) async throws {
        _ = try await self.base.rows(RetireLink.self, id)
    }

    enum BumpVersion: PostgresStatementText {
        static let sql = "UPDATE network_meta SET version = version + 1 WHERE id = 1"
    }

    nonisolated(nonsending) func bumpNetworkVersion() async throws {
        _ = try await self.base.rows(BumpVersion.self)
    }

    nonisolated(nonsending) func network() async throws -> NetworkData {
        try await PostgresLogisticsStore.network(self.base.connection, self.base.logger)
    }

    enum NextShipmentSeq: PostgresStatementText {
        // From the identity sequence, never MAX + 1: replicas book at the
        // same time, and the sequence hands each a different number without
        // a lock (a rolled-back booking leaves a gap).
        static let sql = "SELECT nextval(pg_get_serial_sequence('shipment', 'seq'))"
    }

    nonisolated(nonsending) func nextShipmentSeq() async throws -> Int64 {
        guard let seq = try await self.base.rows(NextShipmentSeq.self).first?.decode(Int64.self) else {
            throw RPCError(code: .internal, message: "The shipment sequence answered nothing.")
        }
        return seq
    }

    enum InsertShipment: PostgresStatementText {
        // The shipment and its first event in one statement.
        static let sql = """
            WITH shipment AS (
                INSERT INTO shipment (seq, id, origin, destination, origin_country, destination_country, category,
                    containers, route, booked_at, eta, status, last_city, synthetic)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
                RETURNING seq
            )
            INSERT INTO shipment_event (shipment_seq, sequence, kind, location, note, at)
            SELECT seq, $15, $16, $17, $18, $19 FROM shipment
            """
    }

    nonisolated(nonsending) func insertShipment(_ booking: ShipmentBooking) async throws {
        let stored = booking.stored
        let shipment = stored.shipment
        let event = booking.event
        _ = try await self.base.rows(
            InsertShipment.self, stored.seq, shipment.id, shipment.originCityId, shipment.destinationCityId,
            stored.originCountry, stored.destinationCountry, shipment.cargoCategoryId, Int64(shipment.containersTeu),
            Data(try (shipment.plannedRoute ?? RailRoute()).serializedBytes()), shipment.bookedAtUnixSeconds,
            shipment.etaUnixSeconds, Int64(shipment.status.rawValue), shipment.lastCityId, shipment.synthetic,
            Int64(event.sequence), Int64(event.kind.rawValue), event.locationCityId, event.note, event.atUnixSeconds)
    }

    enum NextShipmentSeqs: PostgresStatementText {
        static let sql = "SELECT nextval(pg_get_serial_sequence('shipment', 'seq')) FROM generate_series(1, $1)"
    }

    nonisolated(nonsending) func nextShipmentSeqs(count: Int) async throws -> [Int64] {
        try await self.base.rows(NextShipmentSeqs.self, Int64(count)).map { try $0.decode(Int64.self) }
    }

    enum InsertShipments: PostgresStatementText {
        static let sql = """
            INSERT INTO shipment (seq, id, origin, destination, origin_country, destination_country, category,
                containers, route, booked_at, eta, status, last_city, synthetic)
            SELECT * FROM unnest($1::BIGINT[], $2::TEXT[], $3::TEXT[], $4::TEXT[], $5::TEXT[], $6::TEXT[], $7::TEXT[],
                                 $8::BIGINT[], $9::BYTEA[], $10::BIGINT[], $11::BIGINT[], $12::BIGINT[], $13::TEXT[],
                                 $14::BOOLEAN[])
            """
    }

    enum InsertEvents: PostgresStatementText {
        static let sql = """
            INSERT INTO shipment_event (shipment_seq, sequence, kind, location, note, at)
            SELECT * FROM unnest($1::BIGINT[], $2::BIGINT[], $3::BIGINT[], $4::TEXT[], $5::TEXT[], $6::BIGINT[])
            """
    }

    nonisolated(nonsending) func insertShipments(_ shipments: [ShipmentHistory]) async throws {
        guard !shipments.isEmpty else { return }
        let stored = shipments.map(\.stored)
        let rows = stored.map(\.shipment)
        let routes = try rows.map { ByteBuffer(bytes: try ($0.plannedRoute ?? RailRoute()).serializedBytes()) }
        _ = try await self.base.rows(
            InsertShipments.self, stored.map(\.seq), rows.map(\.id), rows.map(\.originCityId),
            rows.map(\.destinationCityId), stored.map(\.originCountry), stored.map(\.destinationCountry),
            rows.map(\.cargoCategoryId), rows.map { Int64($0.containersTeu) }, routes, rows.map(\.bookedAtUnixSeconds),
            rows.map(\.etaUnixSeconds), rows.map { Int64($0.status.rawValue) }, rows.map(\.lastCityId),
            rows.map(\.synthetic))
        let events = shipments.flatMap { history in history.events.map { (seq: history.stored.seq, event: $0) } }
        _ = try await self.base.rows(
            InsertEvents.self, events.map(\.seq), events.map { Int64($0.event.sequence) },
            events.map { Int64($0.event.kind.rawValue) }, events.map(\.event.locationCityId), events.map(\.event.note),
            events.map(\.event.atUnixSeconds))
    }

    enum LockShipment: PostgresStatementText {
        // The row lock serialises this shipment's transitions across replicas.
        static let sql = "SELECT \(PostgresLogisticsStore.shipmentColumns) FROM shipment WHERE id = $1 FOR UPDATE"
    }

    nonisolated(nonsending) func lockShipment(id: String) async throws -> StoredShipment? {
        try await self.base.rows(LockShipment.self, id).first.map {
            try PostgresLogisticsStore.storedShipment($0.makeRandomAccess())
        }
    }

    enum LastEvent: PostgresStatementText {
        static let sql = "SELECT COALESCE(MAX(sequence), 0) FROM shipment_event WHERE shipment_seq = $1"
    }

    nonisolated(nonsending) func lastEventSequence(shipmentSeq: Int64) async throws -> UInt64 {
        UInt64(try await self.base.rows(LastEvent.self, shipmentSeq).first?.decode(Int64.self) ?? 0)
    }

    enum InsertEvent: PostgresStatementText {
        static let sql = """
            INSERT INTO shipment_event (shipment_seq, sequence, kind, location, note, at) VALUES ($1, $2, $3, $4, $5, $6)
            """
    }

    nonisolated(nonsending) func insertEvent(_ event: ShipmentEvent, shipmentSeq: Int64) async throws {
        _ = try await self.base.rows(
            InsertEvent.self, shipmentSeq, Int64(event.sequence), Int64(event.kind.rawValue), event.locationCityId,
            event.note, event.atUnixSeconds)
    }

    enum UpdateShipment: PostgresStatementText {
        static let sql = "UPDATE shipment SET status = $1, eta = $2, last_city = $3 WHERE seq = $4"
    }

    nonisolated(nonsending) func updateShipment(_ shipment: Shipment, seq: Int64) async throws {
        _ = try await self.base.rows(
            UpdateShipment.self, Int64(shipment.status.rawValue), shipment.etaUnixSeconds, shipment.lastCityId, seq)
    }

    enum ChangeCounts: PostgresStatementText {
        // Every change in one statement; the keys are distinct.
        static let sql = """
            INSERT INTO shipment_status_count AS count (country, status, shard, shipments)
            SELECT * FROM unnest($1::TEXT[], $2::BIGINT[], $3::BIGINT[], $4::BIGINT[])
            ON CONFLICT (country, status, shard) DO UPDATE SET shipments = count.shipments + excluded.shipments
            """
    }

    nonisolated(nonsending) func changeShipmentCounts(_ changes: [ShipmentCountChange]) async throws {
        guard !changes.isEmpty else { return }
        _ = try await self.base.rows(
            ChangeCounts.self, changes.map(\.country), changes.map { Int64($0.status.rawValue) }, changes.map(\.shard),
            changes.map(\.change))
    }
}
