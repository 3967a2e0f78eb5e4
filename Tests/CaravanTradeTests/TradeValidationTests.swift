import CaravanCore
import CaravanTestSupport
import CaravanTrade
import CaravanTradeAPI
import Testing

@Suite("Validation: INVALID_ARGUMENT naming the field, and nothing stored", .timeLimit(.minutes(1)))
struct TradeValidationTests {
    struct BadFlow: Sendable, CustomStringConvertible {
        var field: String
        var flow: TradeFlow
        var description: String { self.field }
    }

    static let badFlows: [BadFlow] = [
        BadFlow(field: "flow.country", flow: sampleFlow(country: "XX")),
        BadFlow(field: "flow.country", flow: sampleFlow(country: "KAZ")),
        BadFlow(field: "flow.country", flow: sampleFlow(country: "")),
        BadFlow(field: "flow.country", flow: sampleFlow(country: "DE")),
        BadFlow(field: "flow.value_usd", flow: sampleFlow(value: -1)),
        BadFlow(field: "flow.value_usd", flow: sampleFlow(value: .nan)),
        BadFlow(field: "flow.value_usd", flow: sampleFlow(value: .infinity)),
        BadFlow(field: "flow.value_usd", flow: sampleFlow(value: 5e12)),
        BadFlow(field: "flow.year", flow: sampleFlow(year: 0)),
        BadFlow(field: "flow.year", flow: sampleFlow(year: 1991)),
        BadFlow(field: "flow.year", flow: sampleFlow(year: 2999)),
        BadFlow(field: "flow.month", flow: sampleFlow(month: 13)),
        BadFlow(field: "flow.category", flow: sampleFlow(category: "")),
        BadFlow(field: "flow.category", flow: sampleFlow(category: "   ")),
        BadFlow(field: "flow.category", flow: sampleFlow(category: String(repeating: "x", count: 300))),
        BadFlow(field: "flow.direction", flow: sampleFlow(direction: .directionUnspecified)),
        BadFlow(field: "flow.direction", flow: sampleFlow(direction: TradeDirection(rawValue: 9))),
        BadFlow(
            field: "flow.source",
            flow: {
                var flow = sampleFlow(); flow.source = ""; return flow
            }()),
    ]

    @Test("Bad flows are refused", arguments: StoreBackend.available, badFlows)
    func badFlow(backend: StoreBackend, _ bad: BadFlow) async throws {
        try await withTradeHarness(backend) { harness in
            await expectRPCError(.invalidArgument, mentioning: bad.field) {
                _ = try await harness.client.recordFlow(
                    RecordFlowRequest(flow: bad.flow, idempotencyKey: "k-\(bad.field)"))
            }
            let listed = try await harness.client.listFlows(ListFlowsRequest())
            #expect(listed.flows.isEmpty, "nothing partial is stored")
            // The refused key was not consumed: the good request with it succeeds.
            try await harness.record(sampleFlow(), key: "k-\(bad.field)")
        }
    }

    @Test("A missing flow is refused", arguments: StoreBackend.available)
    func missingFlow(backend: StoreBackend) async throws {
        try await withTradeHarness(backend) { harness in
            await expectRPCError(.invalidArgument, mentioning: "flow") {
                _ = try await harness.client.recordFlow(RecordFlowRequest())
            }
        }
    }

    @Test("Bad filters and summary requests name their field", arguments: StoreBackend.available)
    func badQueries(backend: StoreBackend) async throws {
        try await withTradeHarness(backend) { harness in
            await expectRPCError(.invalidArgument, mentioning: "filter.year_to") {
                _ = try await harness.client.listFlows(
                    ListFlowsRequest(filter: TradeFlowFilter(yearFrom: 2024, yearTo: 2020)))
            }
            await expectRPCError(.invalidArgument, mentioning: "filter.year_from") {
                _ = try await harness.client.listFlows(ListFlowsRequest(filter: TradeFlowFilter(yearFrom: 1800)))
            }
            await expectRPCError(.invalidArgument, mentioning: "filter.country") {
                _ = try await harness.client.listFlows(ListFlowsRequest(filter: TradeFlowFilter(country: "QQ")))
            }
            await expectRPCError(.invalidArgument, mentioning: "year") {
                _ = try await harness.client.getSummary(GetSummaryRequest())
            }
            await expectRPCError(.invalidArgument, mentioning: "year") {
                _ = try await harness.client.getSummary(GetSummaryRequest(year: 3000))
            }
            await expectRPCError(.invalidArgument, mentioning: "country") {
                _ = try await harness.client.getSummary(GetSummaryRequest(year: 2024, country: "US"))
            }
            await expectRPCError(.invalidArgument, mentioning: "year") {
                _ = try await harness.client.topCategories(TopCategoriesRequest(year: 1900))
            }
        }
    }
}
