import CaravanCore
import CaravanTestSupport
import CaravanTrade
import CaravanTradeAPI
import Testing

@Suite("The Horgos hub: sessions and statistics", .timeLimit(.minutes(1)))
struct TradeHubTests {
    static let endOf2024: Int64 = 1_735_689_600  // 2025-01-01T00:00:00Z

    func session(
        creator: String, country: String = "KZ", start: Int64 = 1_730_000_000, followers: UInt64 = 100,
        salesCNY: Double = 1_000, synthetic: Bool = false, hub: String = "horgos"
    ) -> LiveStreamSession {
        LiveStreamSession(
            hub: hub, creator: creator, creatorCountry: country, startUnixSeconds: start, durationMinutes: 90,
            newFollowers: followers, salesCny: salesCNY, synthetic: synthetic)
    }

    @Test(
        "The seeded hub answers its published end-2024 figures and the CNY→USD rate as data",
        arguments: StoreBackend.available)
    func seeded(backend: StoreBackend) async throws {
        try await withTradeHarness(backend) { harness in
            let stats = try await harness.client.hubStats(HubStatsRequest(hub: "Horgos Yiwu International Trade City"))
            #expect(stats.hub == "Horgos Yiwu International Trade City")
            #expect(stats.sessions == 0)
            #expect(stats.salesCny == 0)
            let published = try #require(stats.published)
            #expect(published.followers == 5_000_000)
            #expect(published.salesCny == 100e6)
            #expect(published.salesUsd == 13.94e6)
            #expect(published.asOfDate == "2024-12-31")
            #expect(published.description.contains("More than 5 million"))
            let rate = try #require(stats.cnyUsdRate)
            #expect(rate.baseCurrency == "CNY")
            #expect(rate.quoteCurrency == "USD")
            #expect(rate.rate == 0.1394)
            #expect(rate.source.contains("13.94"))
            // The published pair is what the rate comes from.
            #expect(abs(published.salesCny * rate.rate - published.salesUsd) < 1)
        }
    }

    @Test(
        "Sessions add up by period, with USD at the recorded rate and top creators by sales",
        arguments: StoreBackend.available)
    func sessions(backend: StoreBackend) async throws {
        try await withTradeHarness(backend) { harness in
            let recorded = try await harness.client.recordStreamSession(
                RecordStreamSessionRequest(
                    session: self.session(creator: "Aigerim", followers: 1_000, salesCNY: 50_000), idempotencyKey: "s-1"
                ))
            let stored = try #require(recorded.session)
            #expect(!stored.id.isEmpty)
            #expect(stored.hub == "Horgos Yiwu International Trade City")
            _ = try await harness.client.recordStreamSession(
                RecordStreamSessionRequest(
                    session: self.session(creator: "Aigerim", followers: 1_000, salesCNY: 50_000), idempotencyKey: "s-1"
                ))
            _ = try await harness.client.recordStreamSession(
                RecordStreamSessionRequest(
                    session: self.session(creator: "Jasur", country: "UZ", followers: 500, salesCNY: 80_000)))
            _ = try await harness.client.recordStreamSession(
                RecordStreamSessionRequest(
                    session: self.session(creator: "Bot", followers: 7, salesCNY: 10, synthetic: true)))
            _ = try await harness.client.recordStreamSession(
                RecordStreamSessionRequest(
                    session: self.session(creator: "Late", start: Self.endOf2024 + 3_600, salesCNY: 1e6)))

            let stats = try await harness.client.hubStats(HubStatsRequest(hub: "HORGOS", toUnixSeconds: Self.endOf2024))
            #expect(stats.sessions == 3)
            #expect(stats.syntheticSessions == 1)
            #expect(stats.newFollowers == 1_507)
            #expect(stats.salesCny == 130_010)
            #expect(abs(stats.salesUsd - 130_010 * 0.1394) < 1e-6)
            #expect(stats.topCreators.map(\.creator) == ["Jasur", "Aigerim", "Bot"])
            #expect(stats.topCreators[0].creatorCountry == "UZ")
            #expect(abs(stats.topCreators[0].salesUsd - 80_000 * 0.1394) < 1e-6)
            #expect(stats.topCreators[2].synthetic)
            #expect(stats.published?.followers == 5_000_000, "published figures stay beside recorded ones")

            let limited = try await harness.client.hubStats(HubStatsRequest(hub: "horgos", topCreatorsLimit: 1))
            #expect(limited.sessions == 4)
            #expect(limited.topCreators.map(\.creator) == ["Late"])
            let after = try await harness.client.hubStats(
                HubStatsRequest(hub: "horgos", fromUnixSeconds: Self.endOf2024))
            #expect(after.sessions == 1)
        }
    }

    @Test("Unknown hubs are NOT_FOUND, and a refused session stores nothing", arguments: StoreBackend.available)
    func unknownHub(backend: StoreBackend) async throws {
        try await withTradeHarness(backend) { harness in
            await expectRPCError(.notFound, mentioning: "Khorgos Gateway") {
                _ = try await harness.client.hubStats(HubStatsRequest(hub: "Khorgos Gateway"))
            }
            await expectRPCError(.notFound, mentioning: "hub") {
                _ = try await harness.client.recordStreamSession(
                    RecordStreamSessionRequest(
                        session: self.session(creator: "A", hub: "Nowhere"), idempotencyKey: "n-1"))
            }
            let stats = try await harness.client.hubStats(HubStatsRequest(hub: "horgos"))
            #expect(stats.sessions == 0)
        }
    }

    @Test("Bad sessions and periods name their field", arguments: StoreBackend.available)
    func validation(backend: StoreBackend) async throws {
        try await withTradeHarness(backend) { harness in
            let cases: [(String, LiveStreamSession)] = [
                ("session.hub", self.session(creator: "A", hub: " ")),
                ("session.creator", self.session(creator: "")),
                ("session.creator_country", self.session(creator: "A", country: "ZZ")),
                ("session.creator_country", self.session(creator: "A", country: "")),
                ("session.start_unix_seconds", self.session(creator: "A", start: 0)),
                ("session.start_unix_seconds", self.session(creator: "A", start: 99_999_999_999)),
                ("session.sales_cny", self.session(creator: "A", salesCNY: -5)),
                ("session.sales_cny", self.session(creator: "A", salesCNY: .nan)),
                (
                    "session.duration_minutes",
                    {
                        var s = self.session(creator: "A"); s.durationMinutes = 0; return s
                    }()
                ),
            ]
            for (field, session) in cases {
                await expectRPCError(.invalidArgument, mentioning: field) {
                    _ = try await harness.client.recordStreamSession(RecordStreamSessionRequest(session: session))
                }
            }
            await expectRPCError(.invalidArgument, mentioning: "hub") {
                _ = try await harness.client.hubStats(HubStatsRequest())
            }
            await expectRPCError(.invalidArgument, mentioning: "to_unix_seconds") {
                _ = try await harness.client.hubStats(
                    HubStatsRequest(hub: "horgos", fromUnixSeconds: 10, toUnixSeconds: 5))
            }
            let stats = try await harness.client.hubStats(HubStatsRequest(hub: "horgos"))
            #expect(stats.sessions == 0)
        }
    }
}
