import CaravanTradeAPI

/// What recorded flows add to the maintained yearly totals
/// (`trade_flow_total`): one row per year, country, direction, category and
/// synthetic flag, which summaries and top categories read instead of the
/// flows. The workflow adds to them in the transaction that records the
/// flows, so they never drift from the rows.
public struct FlowTotalChange: Sendable, Hashable {
    public var year: Int64
    public var country: String
    public var direction: Int64
    /// The spelling a new group is named by (its first flow's).
    public var category: String
    public var synthetic: Bool
    public var valueUSD: Double
    public var flowCount: Int64

    /// The changes `flows` make, one per group, in key order (so that two
    /// bulk loads lock total rows in the same order and cannot deadlock).
    ///
    /// Categories group with ASCII letters folded, as SQLite's NOCASE
    /// compares; the database's own key decides in the end (PostgreSQL's
    /// case-insensitive collation may merge two of these into one row).
    public static func changes(of flows: some Sequence<TradeFlow>) -> [FlowTotalChange] {
        var groups: [Key: FlowTotalChange] = [:]
        for flow in flows {
            let key = Key(
                year: Int64(flow.year), country: flow.country, direction: Int64(flow.direction.rawValue),
                category: TradeSummaryBuilder.asciiLowercased(flow.category), synthetic: flow.synthetic)
            var change =
                groups[key]
                ?? FlowTotalChange(
                    year: key.year, country: key.country, direction: key.direction, category: flow.category,
                    synthetic: key.synthetic, valueUSD: 0, flowCount: 0)
            change.valueUSD += flow.valueUsd
            change.flowCount += 1
            groups[key] = change
        }
        return groups.sorted { $0.key < $1.key }.map(\.value)
    }

    struct Key: Hashable, Comparable {
        var year: Int64
        var country: String
        var direction: Int64
        var category: String
        var synthetic: Bool

        static func < (a: Key, b: Key) -> Bool {
            (a.year, a.country, a.direction, a.category, a.synthetic ? 1 : 0)
                < (b.year, b.country, b.direction, b.category, b.synthetic ? 1 : 0)
        }
    }
}
