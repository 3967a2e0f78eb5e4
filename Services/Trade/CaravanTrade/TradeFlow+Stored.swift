import CaravanTradeAPI

/// The columns of `trade_flow` as both stores read them: SQLite and
/// PostgreSQL select the same columns in the same order, and turn a row
/// into a flow here.
extension TradeFlow {
    /// The selected columns, in the order of ``StoredColumns``.
    static let storedColumns =
        "id, year, month, country, direction, category, value_usd, source, synthetic, recorded_at"

    /// One row of ``storedColumns``, as the databases hand it over.
    typealias StoredColumns = (
        id: Int64, year: Int64, month: Int64, country: String, direction: Int64, category: String,
        valueUSD: Double, source: String, synthetic: Bool, recordedAt: Int64
    )

    /// The flow a stored row describes.
    static func stored(_ row: StoredColumns) -> TradeFlow {
        // The CHECK constraints keep year, month and direction in range.
        TradeFlow(
            id: String(row.id),
            year: UInt32(row.year),
            month: UInt32(row.month),
            country: row.country,
            direction: TradeDirection(rawValue: Int32(row.direction)),
            category: row.category,
            valueUsd: row.valueUSD,
            source: row.source,
            synthetic: row.synthetic,
            recordedAtUnixSeconds: row.recordedAt
        )
    }
}
