import CaravanCore
import CaravanTestSupport
import CaravanTrade
import CaravanTradeAPI
import Testing

@Suite("Trade flows: record, get, list, stream", .timeLimit(.minutes(1)))
struct TradeFlowTests {
    @Test("A recorded flow comes back normalised, with an id and a time", arguments: StoreBackend.available)
    func recordAndGet(backend: StoreBackend) async throws {
        try await withTradeHarness(backend) { harness in
            let stored = try await harness.record(
                sampleFlow(month: 3, country: "kz", category: "  Auto parts ", value: 12_500.5))
            #expect(!stored.id.isEmpty)
            #expect(stored.country == "KZ")
            #expect(stored.category == "Auto parts")
            #expect(stored.month == 3)
            #expect(stored.recordedAtUnixSeconds > 1_700_000_000)
            #expect(stored.synthetic == false)

            let fetched = try await harness.client.getFlow(GetFlowRequest(id: stored.id))
            #expect(fetched.flow == stored)
        }
    }

    @Test(
        "Unknown and malformed ids are NOT_FOUND; an empty id is INVALID_ARGUMENT",
        arguments: StoreBackend.available, ["999", "abc", "-1", "0"])
    func unknownID(backend: StoreBackend, id: String) async throws {
        try await withTradeHarness(backend) { harness in
            try await harness.record(sampleFlow())
            await expectRPCError(.notFound, mentioning: id) {
                _ = try await harness.client.getFlow(GetFlowRequest(id: id))
            }
            await expectRPCError(.invalidArgument, mentioning: "id") {
                _ = try await harness.client.getFlow(GetFlowRequest(id: ""))
            }
        }
    }

    @Test("Filters: year range, country, direction, category (case-insensitive)", arguments: StoreBackend.available)
    func filters(backend: StoreBackend) async throws {
        try await withTradeHarness(backend) { harness in
            try await harness.record(
                sampleFlow(year: 2022, country: "KZ", direction: .directionExport, category: "auto parts"))
            try await harness.record(
                sampleFlow(year: 2023, country: "UZ", direction: .directionImport, category: "cotton"))
            try await harness.record(
                sampleFlow(year: 2024, country: "UZ", direction: .directionExport, category: "Wind turbine generators"))
            try await harness.record(
                sampleFlow(year: 2024, country: "KG", direction: .directionImport, category: "auto parts"))

            func count(_ filter: TradeFlowFilter) async throws -> Int {
                try await harness.client.listFlows(ListFlowsRequest(filter: filter)).flows.count
            }
            #expect(try await count(TradeFlowFilter()) == 4)
            #expect(try await count(TradeFlowFilter(yearFrom: 2023)) == 3)
            #expect(try await count(TradeFlowFilter(yearTo: 2023)) == 2)
            #expect(try await count(TradeFlowFilter(yearFrom: 2023, yearTo: 2023)) == 1)
            #expect(try await count(TradeFlowFilter(country: "uz")) == 2)
            #expect(try await count(TradeFlowFilter(direction: .directionImport)) == 2)
            #expect(try await count(TradeFlowFilter(category: "AUTO PARTS")) == 2)
            #expect(
                try await count(
                    TradeFlowFilter(
                        yearFrom: 2024, country: "UZ", direction: .directionExport, category: "wind turbine generators")
                )
                    == 1)
            #expect(try await count(TradeFlowFilter(country: "TJ")) == 0)
        }
    }

    @Test(
        "Pages cover every flow once, in (year, month, id) order, and end without a dangling token",
        arguments: StoreBackend.available)
    func paging(backend: StoreBackend) async throws {
        try await withTradeHarness(backend) { harness in
            var recorded: [TradeFlow] = []
            for index in 0..<53 {
                let year = UInt32(2020 + index % 5)
                let month = UInt32(index % 13)
                recorded.append(
                    try await harness.record(
                        sampleFlow(
                            year: year, month: month, country: index % 2 == 0 ? "KZ" : "UZ", value: Double(index))))
            }
            let listed = try await harness.listAll(pageSize: 7)
            let expected = recorded.sorted { ($0.year, $0.month, Int64($0.id)!) < ($1.year, $1.month, Int64($1.id)!) }
            #expect(listed.map(\.id) == expected.map(\.id))

            let onlyKZ = try await harness.listAll(TradeFlowFilter(yearFrom: 2021, country: "KZ"), pageSize: 4)
            #expect(onlyKZ.map(\.id) == expected.filter { $0.country == "KZ" && $0.year >= 2021 }.map(\.id))

            // An exact multiple of the page size: the last full page has no token.
            let exact = try await harness.client.listFlows(ListFlowsRequest(pageSize: 53))
            #expect(exact.flows.count == 53)
            #expect(exact.nextPageToken.isEmpty)
        }
    }

    @Test("Page size defaults to 100 and is capped at 1000", arguments: StoreBackend.available)
    func pageSizes(backend: StoreBackend) async throws {
        try await withTradeHarness(backend) { harness in
            try await harness.generateSyntheticFlows(1_200, seed: 7)
            let first = try await harness.client.listFlows(ListFlowsRequest())
            #expect(first.flows.count == 100)
            #expect(!first.nextPageToken.isEmpty)
            let capped = try await harness.client.listFlows(ListFlowsRequest(pageSize: 5_000))
            #expect(capped.flows.count == 1_000)
        }
    }

    @Test(
        "Page tokens it did not issue, or issued for another filter, are INVALID_ARGUMENT page_token",
        arguments: StoreBackend.available)
    func foreignTokens(backend: StoreBackend) async throws {
        try await withTradeHarness(backend) { harness in
            for index in 0..<5 { try await harness.record(sampleFlow(value: Double(index))) }
            let page = try await harness.client.listFlows(
                ListFlowsRequest(filter: TradeFlowFilter(country: "KZ"), pageSize: 2))
            #expect(!page.nextPageToken.isEmpty)

            for token in ["garbage", "1.5.6.7", page.nextPageToken + "x", String(page.nextPageToken.dropLast())] {
                await expectRPCError(.invalidArgument, mentioning: "page_token") {
                    _ = try await harness.client.listFlows(
                        ListFlowsRequest(filter: TradeFlowFilter(country: "KZ"), pageToken: token))
                }
            }
            await expectRPCError(.invalidArgument, mentioning: "page_token") {
                _ = try await harness.client.listFlows(
                    ListFlowsRequest(filter: TradeFlowFilter(country: "UZ"), pageToken: page.nextPageToken))
            }
            // The same filter takes it.
            let next = try await harness.client.listFlows(
                ListFlowsRequest(filter: TradeFlowFilter(country: "KZ"), pageSize: 2, pageToken: page.nextPageToken))
            #expect(next.flows.count == 2)
            #expect(Set(next.flows.map(\.id)).isDisjoint(with: page.flows.map(\.id)))
        }
    }

    @Test("StreamFlows sends every match in list order, across store batches", arguments: StoreBackend.available)
    func stream(backend: StoreBackend) async throws {
        var configuration = TradeServiceProvider.Configuration()
        configuration.streamBatchSize = 16
        try await withTradeHarness(backend, configuration: configuration) { harness in
            try await harness.generateSyntheticFlows(500, seed: 3)
            let filter = TradeFlowFilter(yearFrom: 2018, country: "KZ")
            let streamed = try await harness.client.streamFlows(StreamFlowsRequest(filter: filter)) { responses in
                var ids: [String] = []
                for try await response in responses { ids.append(try #require(response.flow).id) }
                return ids
            }
            let listed = try await harness.listAll(filter, pageSize: 1000).map(\.id)
            #expect(!streamed.isEmpty)
            #expect(streamed == listed)

            let bad = TradeFlowFilter(country: "ZZ")
            await expectRPCError(.invalidArgument, mentioning: "filter.country") {
                _ = try await harness.client.streamFlows(StreamFlowsRequest(filter: bad)) { responses in
                    for try await _ in responses {}
                }
            }
        }
    }
}
