import CaravanTradeAPI
import Testing

@testable import CaravanTrade

@Suite("The page statement both stores run")
struct FlowPageQueryTests {
    @Test("No filter, no cursor: the whole order, limited")
    func unfiltered() {
        let page = FlowPageQuery(FlowQuery(), after: nil, limit: 101) { "$\($0)" }
        #expect(page.sql == "SELECT \(TradeFlow.storedColumns) FROM trade_flow ORDER BY year, month, id LIMIT $1")
        #expect(page.arguments == [.integer(101)])
    }

    @Test("Every filter, numbered in the order the arguments are bound")
    func everyFilter() {
        let query = FlowQuery(
            yearFrom: 2020, yearTo: 2024, country: "UZ", direction: .directionImport, category: "Cotton")
        let cursor = FlowCursor(year: 2021, month: 4, id: 77)
        let page = FlowPageQuery(query, after: cursor, limit: 10) { "$\($0)" }
        #expect(
            page.sql
                == "SELECT \(TradeFlow.storedColumns) FROM trade_flow WHERE (year, month, id) > ($1, $2, $3)"
                + " AND year <= $4 AND country = $5 AND direction = $6 AND category = $7"
                + " ORDER BY year, month, id LIMIT $8")
        #expect(
            page.arguments == [
                .integer(2021), .integer(4), .integer(77), .integer(2024), .text("UZ"),
                .integer(Int64(TradeDirection.directionImport.rawValue)), .text("Cotton"), .integer(10),
            ])
        let sqlite = FlowPageQuery(query, after: cursor, limit: 10) { _ in "?" }
        #expect(sqlite.sql.contains("(year, month, id) > (?, ?, ?) AND year <= ?"))
        #expect(sqlite.arguments == page.arguments)
    }

    @Test(
        "A cursor before year_from starts at year_from instead",
        arguments: [nil, FlowCursor(year: 2019, month: 12, id: 5)])
    func cursorBeforeYearFrom(cursor: FlowCursor?) {
        let page = FlowPageQuery(FlowQuery(yearFrom: 2020), after: cursor, limit: 5) { "$\($0)" }
        #expect(page.arguments == [.integer(2020), .integer(0), .integer(0), .integer(5)])
    }
}
