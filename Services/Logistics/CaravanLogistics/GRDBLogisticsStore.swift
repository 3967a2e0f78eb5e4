import CaravanCore
import CaravanLogisticsAPI
import CaravanServiceKit
import Foundation
import GRDB

/// The SQLite ``LogisticsStore`` (GRDB): async reads and writes on GRDB's
/// own threads, never blocking the cooperative pool.
public struct GRDBLogisticsStore: LogisticsStore {
    public let database: any DatabaseWriter

    public init(_ database: any DatabaseWriter) {
        self.database = database
    }

    // MARK: Network

    public func loadNetwork() async throws -> NetworkData {
        try await self.database.read { db in try Self.network(db) }
    }

    public func networkVersion() async throws -> Int64 {
        try await self.database.read { db in
            try Int64.fetchOne(db.cachedStatement(sql: "SELECT version FROM network_meta WHERE id = 1")) ?? 0
        }
    }

    public func addLink(_ link: RailLink, write: IdempotentWrite) async throws -> (AddLinkResponse, NetworkData) {
        try await self.database.write { db in
            let response = try IdempotencyLedger.once(db, write) {
                let seq = (try Int64.fetchOne(db.cachedStatement(sql: "SELECT MAX(seq) FROM rail_link")) ?? 0) + 1
                let stored = LogisticsRecords.added(link, seq: seq)
                try Self.insertLink(stored, seq: seq, into: db)
                try Self.bumpVersion(db)
                return AddLinkResponse(link: stored)
            }
            return (response, try Self.network(db))
        }
    }

    public func retireLink(id: String, write: IdempotentWrite) async throws -> (RetireLinkResponse, NetworkData) {
        try await self.database.write { db in
            let response = try IdempotencyLedger.once(db, write) {
                guard
                    let row = try Row.fetchOne(
                        db.cachedStatement(sql: "SELECT * FROM rail_link WHERE id = ?"),
                        arguments: [id])
                else {
                    throw LogisticsRecords.noLink(id)
                }
                var link = Self.link(row)
                if link.active {
                    try db.execute(sql: "UPDATE rail_link SET active = 0 WHERE id = ?", arguments: [id])
                    try Self.bumpVersion(db)
                    link.active = false
                }
                return RetireLinkResponse(link: link)
            }
            return (response, try Self.network(db))
        }
    }

    static func network(_ db: Database) throws -> NetworkData {
        let version =
            try Int64.fetchOne(
                db.cachedStatement(sql: "SELECT version FROM network_meta WHERE id = 1")) ?? 0
        let cities = try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM city ORDER BY seq")).map { row in
            RailCity(
                id: row["id"], name: row["name"], country: row["country"], region: Region(rawValue: row["region"]),
                isBorderCrossing: row["is_border_crossing"], synthetic: row["synthetic"], note: row["note"])
        }
        let links = try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM rail_link ORDER BY seq")).map { row in
            StoredLink(seq: row["seq"], link: Self.link(row))
        }
        let categories = try Row.fetchAll(
            db.cachedStatement(sql: "SELECT * FROM cargo_category ORDER BY seq")
        ).map { row in
            CargoCategory(
                id: row["id"], name: row["name"], highValue: row["high_value"], synthetic: row["synthetic"],
                note: row["note"])
        }
        return NetworkData(version: version, cities: cities, links: links, categories: categories)
    }

    static func link(_ row: Row) -> RailLink {
        RailLink(
            id: row["id"], fromCityId: row["from_city"], toCityId: row["to_city"], transitHours: row["transit_hours"],
            distanceKm: row["distance_km"], crossingCityId: row["crossing_city"], active: row["active"],
            synthetic: row["synthetic"], note: row["note"])
    }

    static func insertLink(_ link: RailLink, seq: Int64, into db: Database) throws {
        try db.execute(
            sql: """
                INSERT INTO rail_link (seq, id, from_city, to_city, transit_hours, distance_km, crossing_city, active, synthetic, note)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                seq, link.id, link.fromCityId, link.toCityId, link.transitHours, link.distanceKm, link.crossingCityId,
                link.active, link.synthetic, link.note,
            ])
    }

    private static func bumpVersion(_ db: Database) throws {
        try db.execute(sql: "UPDATE network_meta SET version = version + 1 WHERE id = 1")
    }

    // MARK: Shipments

    public func bookShipment(_ draft: ShipmentDraft, write: IdempotentWrite) async throws -> BookShipmentResponse {
        try await self.database.write { db in
            try IdempotencyLedger.once(db, write) {
                // The single writer makes MAX + 1 safe; ids never reuse a number.
                let seq = (try Int64.fetchOne(db.cachedStatement(sql: "SELECT MAX(seq) FROM shipment")) ?? 0) + 1
                let (shipment, event) = LogisticsRecords.booked(draft, seq: seq)
                let route = try (shipment.plannedRoute ?? RailRoute()).serializedBytes()
                try db.execute(
                    sql: """
                        INSERT INTO shipment (seq, id, origin, destination, origin_country, destination_country, category,
                            containers, route, booked_at, eta, status, last_city, synthetic)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        seq, shipment.id, shipment.originCityId, shipment.destinationCityId, draft.originCountry,
                        draft.destinationCountry, shipment.cargoCategoryId, Int64(shipment.containersTeu), Data(route),
                        shipment.bookedAtUnixSeconds, shipment.etaUnixSeconds, shipment.status.rawValue,
                        shipment.lastCityId, shipment.synthetic,
                    ])
                try Self.insertEvent(event, shipmentSeq: seq, into: db)
                return BookShipmentResponse(shipment: shipment)
            }
        }
    }

    public func shipment(id: String) async throws -> TrackShipmentResponse? {
        try await self.database.read { db in
            guard let (seq, shipment) = try Self.fetchShipment(db, id: id) else { return nil }
            return TrackShipmentResponse(shipment: shipment, events: try Self.events(db, shipmentSeq: seq, id: id))
        }
    }

    public func recordEvent(
        shipmentID: String,
        _ draft: ShipmentStateMachine.EventDraft,
        write: IdempotentWrite
    ) async throws -> RecordShipmentEventResponse {
        try await self.database.write { db in
            try IdempotencyLedger.once(db, write) {
                guard let (seq, shipment) = try Self.fetchShipment(db, id: shipmentID) else {
                    throw LogisticsRecords.noShipment(shipmentID)
                }
                let last =
                    try Int64.fetchOne(
                        db.cachedStatement(sql: "SELECT MAX(sequence) FROM shipment_event WHERE shipment_seq = ?"),
                        arguments: [seq])
                    ?? 0
                let (event, updated) = try ShipmentStateMachine.apply(draft, to: shipment, sequence: UInt64(last + 1))
                try Self.insertEvent(event, shipmentSeq: seq, into: db)
                try db.execute(
                    sql: "UPDATE shipment SET status = ?, eta = ?, last_city = ? WHERE seq = ?",
                    arguments: [updated.status.rawValue, updated.etaUnixSeconds, updated.lastCityId, seq])
                return RecordShipmentEventResponse(event: event, shipment: updated)
            }
        }
    }

    public func listShipments(status: ShipmentStatus, country: String, after: Int64?, limit: Int) async throws
        -> ShipmentPage
    {
        try await self.database.read { db in
            var sql = "SELECT * FROM shipment WHERE seq > ?"
            var arguments: StatementArguments = [after ?? 0]
            if status != .unspecified {
                sql += " AND status = ?"
                _ = arguments.append(contentsOf: [status.rawValue])
            }
            if !country.isEmpty {
                sql += " AND (origin_country = ? OR destination_country = ?)"
                _ = arguments.append(contentsOf: [country, country])
            }
            sql += " ORDER BY seq LIMIT ?"
            _ = arguments.append(contentsOf: [limit + 1])
            let rows = try Row.fetchAll(db.cachedStatement(sql: sql), arguments: arguments)
            var shipments: [Shipment] = []
            var lastSeq: Int64 = 0
            for row in rows.prefix(limit) {
                shipments.append(try Self.shipment(row))
                lastSeq = row["seq"]
            }
            return ShipmentPage(shipments: shipments, nextAfter: rows.count > limit ? lastSeq : nil)
        }
    }

    public func countShipments(country: String) async throws -> [ShipmentStatus: UInt64] {
        try await self.database.read { db in
            var sql = "SELECT status, COUNT(*) FROM shipment"
            var arguments: StatementArguments = []
            if !country.isEmpty {
                sql += " WHERE origin_country = ? OR destination_country = ?"
                arguments = [country, country]
            }
            var counts: [ShipmentStatus: UInt64] = [:]
            for row in try Row.fetchAll(db.cachedStatement(sql: sql + " GROUP BY status"), arguments: arguments) {
                counts[ShipmentStatus(rawValue: row[0]), default: 0] += UInt64(row[1] as Int64)
            }
            return counts
        }
    }

    private static func fetchShipment(_ db: Database, id: String) throws -> (Int64, Shipment)? {
        guard
            let row = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT * FROM shipment WHERE id = ?"),
                arguments: [id])
        else {
            return nil
        }
        return (row["seq"], try Self.shipment(row))
    }

    private static func shipment(_ row: Row) throws -> Shipment {
        let route: Data = row["route"]
        return Shipment(
            id: row["id"], originCityId: row["origin"], destinationCityId: row["destination"],
            cargoCategoryId: row["category"], containersTeu: UInt32(row["containers"] as Int64),
            plannedRoute: try RailRoute(serializedBytes: [UInt8](route)), bookedAtUnixSeconds: row["booked_at"],
            etaUnixSeconds: row["eta"], status: ShipmentStatus(rawValue: row["status"]), lastCityId: row["last_city"],
            synthetic: row["synthetic"])
    }

    private static func events(_ db: Database, shipmentSeq: Int64, id: String) throws -> [ShipmentEvent] {
        try Row.fetchAll(
            db.cachedStatement(sql: "SELECT * FROM shipment_event WHERE shipment_seq = ? ORDER BY sequence"),
            arguments: [shipmentSeq]
        ).map { row in
            ShipmentEvent(
                shipmentId: id, sequence: UInt64(row["sequence"] as Int64),
                kind: ShipmentEventKind(rawValue: row["kind"]),
                locationCityId: row["location"], note: row["note"], atUnixSeconds: row["at"])
        }
    }

    private static func insertEvent(_ event: ShipmentEvent, shipmentSeq: Int64, into db: Database) throws {
        try db.execute(
            sql:
                "INSERT INTO shipment_event (shipment_seq, sequence, kind, location, note, at) VALUES (?, ?, ?, ?, ?, ?)",
            arguments: [
                shipmentSeq, Int64(event.sequence), event.kind.rawValue, event.locationCityId, event.note,
                event.atUnixSeconds,
            ])
    }
}
