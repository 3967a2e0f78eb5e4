import CaravanTradeAPI

/// The columns of `trade_flow_total` as both stores read them.
extension FlowTotal {
    /// The selected columns of `trade_flow_total`, in the order of ``StoredColumns``.
    static let storedColumns = "country, direction, category, synthetic, value_usd, flow_count"

    typealias StoredColumns = (
        country: String, direction: Int64, category: String, synthetic: Bool, valueUSD: Double, flowCount: Int64
    )

    static func stored(_ row: StoredColumns) -> FlowTotal {
        FlowTotal(
            country: row.country, direction: TradeDirection(rawValue: Int32(row.direction)), category: row.category,
            synthetic: row.synthetic, valueUSD: row.valueUSD, flowCount: row.flowCount)
    }
}
