import CaravanTradeAPI

/// The statement that reads one page of flows, for either store: the
/// filter, the keyset condition and the order, with the arguments to bind.
///
/// The keyset condition alone bounds the scan from below: a cursor before
/// year_from is moved up to it, so deep pages start where the last one
/// ended instead of rescanning from the first matching row, and every
/// index ends in (year, month, id) so a page is one index range scan.
struct FlowPageQuery: Sendable, Hashable {
    /// A value to bind; flows are filtered on integers and text only.
    enum Argument: Sendable, Hashable {
        case integer(Int64)
        case text(String)
    }

    var sql: String
    /// In placeholder order; the last is the limit.
    var arguments: [Argument]

    /// - Parameter placeholder: the placeholder for the n-th argument
    ///   (from 1): `?` for SQLite, `$n` for PostgreSQL.
    init(_ query: FlowQuery, after cursor: FlowCursor?, limit: Int, placeholder: (Int) -> String) {
        var conditions: [String] = []
        var arguments: [Argument] = []
        func bind(_ argument: Argument) -> String {
            arguments.append(argument)
            return placeholder(arguments.count)
        }
        var start = cursor
        if let yearFrom = query.yearFrom, start == nil || start!.year < yearFrom {
            start = FlowCursor(year: yearFrom, month: 0, id: 0)
        }
        if let start {
            let year = bind(.integer(Int64(start.year)))
            let month = bind(.integer(Int64(start.month)))
            let id = bind(.integer(start.id))
            conditions.append("(year, month, id) > (\(year), \(month), \(id))")
        }
        if let yearTo = query.yearTo {
            conditions.append("year <= \(bind(.integer(Int64(yearTo))))")
        }
        if let country = query.country {
            conditions.append("country = \(bind(.text(country)))")
        }
        if let direction = query.direction {
            conditions.append("direction = \(bind(.integer(Int64(direction.rawValue))))")
        }
        if let category = query.category {
            // Case-insensitive by the column's collation (NOCASE, caravan_nocase).
            conditions.append("category = \(bind(.text(category)))")
        }
        let filter = conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")
        let limitPlaceholder = bind(.integer(Int64(limit)))
        self.sql =
            "SELECT \(TradeFlow.storedColumns) FROM trade_flow\(filter) ORDER BY year, month, id LIMIT \(limitPlaceholder)"
        self.arguments = arguments
    }
}
