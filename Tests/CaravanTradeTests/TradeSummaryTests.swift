import CaravanCore
import CaravanTestSupport
import CaravanTrade
import CaravanTradeAPI
import Testing

@Suite("Summaries beside the published figures; top categories", .timeLimit(.minutes(1)))
struct TradeSummaryTests {
    @Test(
        "With no flows, 2024 answers the published USD 94.8 bn and its milestone progress, and invents no breakdown",
        arguments: StoreBackend.available)
    func publishedOnly(backend: StoreBackend) async throws {
        try await withTradeHarness(backend) { harness in
            let summary = try await harness.client.getSummary(GetSummaryRequest(year: 2024))
            let published = try #require(summary.published)
            #expect(published.valueUsd == 94.8e9)
            #expect(published.year == 2024)
            #expect(published.country == "")
            #expect(!published.source.isEmpty)
            #expect(summary.recordedTotalUsd == 0)
            #expect(summary.flowCount == 0)
            #expect(summary.byCountryUsd.isEmpty)
            #expect(summary.byCategoryUsd.isEmpty)
            #expect(summary.yearOnYear == nil)
            let milestone = try #require(summary.milestone)
            #expect(milestone.targetUsd == 100e9)
            #expect(milestone.basis == .published)
            #expect(abs(milestone.percent - 94.8) < 1e-9)
            #expect(abs(milestone.remainingUsd - 5.2e9) < 1)
        }
    }

    @Test(
        "Recorded flows are summed by country, direction and category, with the synthetic part and year-on-year",
        arguments: StoreBackend.available)
    func recorded(backend: StoreBackend) async throws {
        try await withTradeHarness(backend) { harness in
            try await harness.record(sampleFlow(year: 2023, country: "KZ", value: 400))
            try await harness.record(sampleFlow(year: 2023, country: "UZ", value: 100))
            try await harness.record(
                sampleFlow(year: 2024, country: "KZ", direction: .directionExport, category: "Auto parts", value: 300))
            try await harness.record(
                sampleFlow(year: 2024, country: "KZ", direction: .directionImport, category: "auto parts", value: 50))
            try await harness.record(
                sampleFlow(
                    year: 2024, country: "UZ", direction: .directionExport, category: "wind turbine generators",
                    value: 200)
            )
            try await harness.record(
                sampleFlow(
                    year: 2024, country: "UZ", direction: .directionImport, category: "cotton", value: 70,
                    synthetic: true))

            let summary = try await harness.client.getSummary(GetSummaryRequest(year: 2024))
            #expect(summary.recordedTotalUsd == 620)
            #expect(summary.flowCount == 4)
            #expect(summary.syntheticUsd == 70)
            #expect(summary.byCountryUsd == ["KZ": 350, "UZ": 270])
            #expect(summary.exportUsd == 500)
            #expect(summary.importUsd == 120)
            // One key per category, whatever its case; the published figure is untouched.
            #expect(summary.byCategoryUsd == ["Auto parts": 350, "wind turbine generators": 200, "cotton": 70])
            #expect(summary.published?.valueUsd == 94.8e9)
            #expect(summary.milestone?.basis == .published)
            let change = try #require(summary.yearOnYear)
            #expect(change.previousYear == 2023)
            #expect(change.previousTotalUsd == 500)
            #expect(change.changeUsd == 120)
            #expect(abs(change.changePercent - 24) < 1e-9)

            let kz = try await harness.client.getSummary(GetSummaryRequest(year: 2024, country: "kz"))
            #expect(kz.country == "KZ")
            #expect(kz.recordedTotalUsd == 350)
            #expect(kz.byCountryUsd == ["KZ": 350])
            #expect(kz.milestone == nil, "the milestone is for the whole region")
            #expect(kz.published == nil, "no per-country figure is published")
            #expect(kz.yearOnYear?.previousTotalUsd == 400)
        }
    }

    @Test(
        "A year with no published figure measures the milestone from recorded flows", arguments: StoreBackend.available)
    func recordedBasis(backend: StoreBackend) async throws {
        try await withTradeHarness(backend) { harness in
            try await harness.record(sampleFlow(year: 2023, value: 25e9))
            let summary = try await harness.client.getSummary(GetSummaryRequest(year: 2023))
            #expect(summary.published == nil)
            let milestone = try #require(summary.milestone)
            #expect(milestone.basis == .recorded)
            #expect(milestone.valueUsd == 25e9)
            #expect(milestone.percent == 25)
            #expect(milestone.remainingUsd == 75e9)
        }
    }

    @Test(
        "Top categories: largest first, shares of the year's total, limit, synthetic part",
        arguments: StoreBackend.available)
    func topCategories(backend: StoreBackend) async throws {
        try await withTradeHarness(backend) { harness in
            try await harness.record(sampleFlow(category: "electronics", value: 100))
            try await harness.record(sampleFlow(category: "auto parts", value: 500))
            try await harness.record(sampleFlow(country: "UZ", category: "Auto Parts", value: 100, synthetic: true))
            try await harness.record(sampleFlow(category: "industrial machinery", value: 300))
            try await harness.record(sampleFlow(year: 2023, category: "cotton", value: 9_999))

            let top = try await harness.client.topCategories(TopCategoriesRequest(year: 2024, limit: 2))
            #expect(top.categories.map(\.category) == ["Auto Parts", "industrial machinery"])
            #expect(top.categories[0].valueUsd == 600)
            #expect(top.categories[0].sharePercent == 60)
            #expect(top.categories[0].syntheticUsd == 100)
            #expect(top.categories[1].sharePercent == 30)

            let all = try await harness.client.topCategories(TopCategoriesRequest(year: 2024))
            #expect(all.categories.count == 3)
            let uz = try await harness.client.topCategories(TopCategoriesRequest(year: 2024, country: "UZ"))
            #expect(uz.categories.map(\.category) == ["Auto Parts"])
            #expect(uz.categories.first?.sharePercent == 100)
        }
    }

    @Test(
        "Maintained totals equal a full recount after a million-flow-style bulk load", arguments: StoreBackend.available
    )
    func totalsMatchRecount(backend: StoreBackend) async throws {
        try await withTradeHarness(backend) { harness in
            try await harness.generateSyntheticFlows(3_000, seed: 11)
            let summary = try await harness.client.getSummary(GetSummaryRequest(year: 2020))
            let flows = try await harness.listAll(TradeFlowFilter(yearFrom: 2020, yearTo: 2020), pageSize: 1000)
            #expect(summary.flowCount == UInt64(flows.count))
            let recount = flows.reduce(0) { $0 + $1.valueUsd }
            #expect(abs(summary.recordedTotalUsd - recount) < 1e-3)
            #expect(summary.syntheticUsd == summary.recordedTotalUsd, "every generated flow is synthetic")
            #expect(flows.allSatisfy { $0.synthetic && $0.source.hasPrefix("synthetic") })
        }
    }
}
