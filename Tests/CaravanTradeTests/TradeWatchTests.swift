import CaravanCore
import CaravanTestSupport
import CaravanTrade
import CaravanTradeAPI
import Testing

@Suite("Trade flows: the live watch", .timeLimit(.minutes(1)))
struct TradeWatchTests {
    @Test("WatchFlows opens with `created`, then sends each flow recorded after it, of its country only")
    func watchesRecordedFlows() async throws {
        try await withTradeHarness(.sqlite) { harness in
            try await harness.record(sampleFlow(country: "KZ", category: "before the watch"))
            let (recorded, watched) = try await harness.client.watchFlows(WatchFlowsRequest(country: "kz")) {
                responses in
                var iterator = responses.makeAsyncIterator()
                let first = try #require(try await iterator.next())
                #expect(first.created)
                #expect(first.flow == nil)
                try await harness.record(sampleFlow(country: "UZ"))
                let kazakh = try await harness.record(sampleFlow(country: "KZ", category: "cotton"), key: "watch-kz")
                // The retry of a stored write answers as before and may be sent again.
                try await harness.record(sampleFlow(country: "KZ", category: "cotton"), key: "watch-kz")
                var watched: [WatchFlowsResponse] = []
                for _ in 0..<2 { watched.append(try #require(try await iterator.next())) }
                return (kazakh, watched)
            }
            #expect(watched.map(\.flow) == [recorded, recorded])
            #expect(watched.allSatisfy { !$0.created })
        }
    }

    @Test("WatchFlows refuses a country that is not a Central Asian partner")
    func refusesOtherCountries() async throws {
        try await withTradeHarness(.sqlite) { harness in
            await expectRPCError(.invalidArgument, mentioning: "country") {
                _ = try await harness.client.watchFlows(WatchFlowsRequest(country: "FR")) { responses in
                    for try await _ in responses {}
                }
            }
        }
    }
}
