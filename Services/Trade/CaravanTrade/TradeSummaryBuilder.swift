import CaravanTradeAPI

/// Turns maintained totals into summary and top-category answers: pure
/// arithmetic, tested without a database.
///
/// Recorded sums and the published figure stay apart: the breakdowns only
/// ever come from recorded flows, and the published total is reported
/// beside them, never split.
enum TradeSummaryBuilder {
    static func summary(year: Int, country: String?, figures: SummaryFigures) -> GetSummaryResponse {
        let totals = figures.totals
        var response = GetSummaryResponse()
        response.year = UInt32(year)
        response.country = country ?? ""
        var flowCount: Int64 = 0
        for total in totals {
            response.recordedTotalUsd += total.valueUSD
            flowCount += total.flowCount
            if total.synthetic { response.syntheticUsd += total.valueUSD }
            response.byCountryUsd[total.country, default: 0] += total.valueUSD
            if total.direction == .directionExport {
                response.exportUsd += total.valueUSD
            } else if total.direction == .directionImport {
                response.importUsd += total.valueUSD
            }
        }
        response.flowCount = UInt64(max(0, flowCount))
        for category in Self.categories(totals) {
            response.byCategoryUsd[category.category] = category.valueUsd
        }

        let previousTotal = figures.previousYearTotalUSD
        let previousCount = figures.previousYearFlowCount
        // Known means flows were recorded for it and they sum to something:
        // a change against zero has no percentage.
        if previousCount > 0, previousTotal > 0 {
            let change = response.recordedTotalUsd - previousTotal
            response.yearOnYear = YearOnYearChange(
                previousYear: UInt32(year - 1), previousTotalUsd: previousTotal, changeUsd: change,
                changePercent: change * 100 / previousTotal)
        }
        let published = figures.published
        response.published = published
        if country == nil {
            let milestone = figures.milestone
            let (value, basis): (Double, FigureBasis) =
                published.map { ($0.valueUsd, .published) } ?? (response.recordedTotalUsd, .recorded)
            response.milestone = MilestoneProgress(
                targetUsd: milestone.targetUSD, valueUsd: value,
                percent: milestone.targetUSD > 0 ? value * 100 / milestone.targetUSD : 0,
                remainingUsd: max(0, milestone.targetUSD - value), basis: basis)
        }
        return response
    }

    /// Categories by value, largest first (ties by name), each with its
    /// share of the whole and its synthetic part.
    static func categories(_ totals: [FlowTotal]) -> [CategoryTotal] {
        // SQLite's NOCASE folds ASCII only; group the same way so a key
        // here is a key there. The alphabetically first spelling names a
        // group, so answers do not depend on row order.
        var groups: [String: CategoryTotal] = [:]
        var whole = 0.0
        for total in totals {
            whole += total.valueUSD
            let key = Self.asciiLowercased(total.category)
            var group = groups[key] ?? CategoryTotal(category: total.category)
            if total.category < group.category { group.category = total.category }
            group.valueUsd += total.valueUSD
            if total.synthetic { group.syntheticUsd += total.valueUSD }
            groups[key] = group
        }
        return groups.values
            .map { group in
                var group = group
                group.sharePercent = whole > 0 ? group.valueUsd * 100 / whole : 0
                return group
            }
            .sorted { ($0.valueUsd, $1.category) > ($1.valueUsd, $0.category) }
    }

    static func asciiLowercased(_ text: String) -> String {
        String(decoding: text.utf8.map { (65...90).contains($0) ? $0 + 32 : $0 }, as: UTF8.self)
    }
}
