/// The maintained shipment counts (`shipment_status_count`), the same SQL
/// for both stores (with `$n` placeholders, which SQLite reads as `?n`): one row per country and status, where country '' counts
/// every shipment and a shipment counts under its origin's country and its
/// destination's (once when they are one). CountShipments reads a handful
/// of rows instead of grouping every shipment.
///
/// Each count is split over ``shards`` rows by the shipment's storage key,
/// so that concurrent bookings on PostgreSQL replicas do not all queue on
/// one row lock (''/BOOKED would be in every booking); a shipment's changes
/// always land in its own shard, which therefore never goes below zero.
/// (No CHECK says so: SQLite checks the row an upsert proposes, -1 for a
/// decrement, before it finds the row to add it to.)
enum LogisticsCountsSQL {
    static let shards: Int64 = 16

    static let schema = """
        CREATE TABLE shipment_status_count (
            country TEXT NOT NULL,
            status BIGINT NOT NULL,
            shard BIGINT NOT NULL,
            shipments BIGINT NOT NULL,
            PRIMARY KEY (country, status, shard)
        )
        """

    /// Counts the shipments stored before the table existed.
    static let fill = """
        INSERT INTO shipment_status_count (country, status, shard, shipments)
        SELECT country, status, shard, COUNT(*) FROM (
            SELECT '' AS country, status, seq % \(shards) AS shard FROM shipment
            UNION ALL SELECT origin_country, status, seq % \(shards) FROM shipment
            UNION ALL SELECT destination_country, status, seq % \(shards) FROM shipment
                WHERE destination_country <> origin_country
        ) AS counted GROUP BY country, status, shard
        """

    /// The counts of one country ('' for all), by status.
    static let read = """
        SELECT status, CAST(SUM(shipments) AS BIGINT) FROM shipment_status_count WHERE country = $1 GROUP BY status
        """

    /// Adds $4 to the count of country $1, status $2, shard $3.
    static let change = """
        INSERT INTO shipment_status_count AS count (country, status, shard, shipments) VALUES ($1, $2, $3, $4)
        ON CONFLICT (country, status, shard) DO UPDATE SET shipments = count.shipments + excluded.shipments
        """
}
