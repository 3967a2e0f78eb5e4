import CaravanCore
import CaravanDomain
import CaravanTestSupport
import CaravanTrade
import CaravanTradeAPI
import Testing

@Suite("The hub's maintained totals: periods, creator countries, all time", .timeLimit(.minutes(2)))
struct HubTotalsTests {
    @Test("A period's cover counts every second once: partial days from sessions, whole days and months from totals")
    func coverPartitions() {
        var random = SplitMix64(seed: 3)
        let day = UTCCalendar.secondsPerDay
        var periods: [Range<Int64>] = [
            0..<HubPeriodCover.latest, 1_704_067_200..<1_735_689_600, 1_704_067_201..<1_704_067_300,
            1_706_000_000..<1_706_000_000, 1_706_745_600..<1_709_251_200,
        ]
        for _ in 0..<300 {
            let from = 1_600_000_000 + Int64(random.next() % 200_000_000)
            periods.append(from..<(from + Int64(random.next() % 100_000_000)))
        }
        for period in periods {
            let cover = HubPeriodCover(period: period)
            let parts = [cover.headSessions, cover.headDays, cover.months, cover.tailDays, cover.tailSessions]
                .filter { !$0.isEmpty }
            // Consecutive, from the start to the end, nothing twice, nothing missed.
            #expect(parts.first?.lowerBound ?? period.lowerBound == period.lowerBound, "\(period)")
            #expect(parts.last?.upperBound ?? period.upperBound == period.upperBound, "\(period)")
            for (a, b) in zip(parts, parts.dropFirst()) { #expect(a.upperBound == b.lowerBound, "\(period)") }
            // Totals only where they are whole: days on day starts, months on month starts.
            for days in [cover.headDays, cover.tailDays] where !days.isEmpty {
                #expect(days.lowerBound % day == 0 && days.upperBound % day == 0)
            }
            if !cover.months.isEmpty {
                #expect(UTCCalendar.startOfMonth(cover.months.lowerBound) == cover.months.lowerBound)
                #expect(UTCCalendar.startOfMonth(cover.months.upperBound) == cover.months.upperBound)
            }
            // Sessions are read for less than a day at each end.
            #expect(cover.headSessions.count < day && cover.tailSessions.count < day)
        }
    }

    func session(_ creator: String, _ country: String, at start: Int64, sales: Double, synthetic: Bool = false)
        -> LiveStreamSession
    {
        LiveStreamSession(
            hub: "horgos", creator: creator, creatorCountry: country, startUnixSeconds: start, durationMinutes: 60,
            newFollowers: 10, salesCny: sales, synthetic: synthetic)
    }

    @Test(
        "Totals for any period, by creator country, equal the sums of the sessions in it; all-time top creators too",
        arguments: StoreBackend.available)
    func totalsMatchSessions(backend: StoreBackend) async throws {
        try await withTradeHarness(backend) { harness in
            var random = SplitMix64(seed: 11)
            var sessions: [LiveStreamSession] = []
            // Across two years, so periods cut through days and months.
            for index in 0..<240 {
                let start = 1_704_067_200 + Int64(random.next() % 63_072_000)
                sessions.append(
                    self.session(
                        "creator \(index % 7)", ["KZ", "UZ", "KG"][index % 3], at: start,
                        sales: Double(100 + random.next() % 900), synthetic: index % 5 == 0))
            }
            for (index, session) in sessions.enumerated() {
                _ = try await harness.client.recordStreamSession(
                    RecordStreamSessionRequest(session: session, idempotencyKey: "s-\(index)"))
            }
            let periods: [(Int64, Int64)] = [
                (0, 0), (1_704_067_200, 1_735_689_600), (1_710_000_123, 1_720_000_456), (1_715_000_000, 1_715_050_000),
            ]
            for (from, to) in periods {
                for country in ["", "UZ"] {
                    let stats = try await harness.client.hubStats(
                        HubStatsRequest(
                            hub: "horgos", fromUnixSeconds: from, toUnixSeconds: to, omitTopCreators: true,
                            creatorCountry: country))
                    let upper = to == 0 ? Int64.max : to
                    let matching = sessions.filter {
                        $0.startUnixSeconds >= from && $0.startUnixSeconds < upper
                            && (country.isEmpty || $0.creatorCountry == country)
                    }
                    #expect(stats.sessions == UInt64(matching.count), "\(from)..<\(to) \(country)")
                    #expect(stats.syntheticSessions == UInt64(matching.filter(\.synthetic).count))
                    #expect(stats.newFollowers == UInt64(matching.count * 10))
                    #expect(stats.salesCny == matching.reduce(0) { $0 + $1.salesCny })
                    #expect(stats.topCreators.isEmpty, "omitted")
                }
            }
            // All time: the first rows of the per-creator totals; a period: summed from its sessions.
            for (from, to) in [(Int64(0), Int64(0)), (1_710_000_123, 1_720_000_456)] {
                let stats = try await harness.client.hubStats(
                    HubStatsRequest(hub: "horgos", fromUnixSeconds: from, toUnixSeconds: to, topCreatorsLimit: 3))
                let upper = to == 0 ? Int64.max : to
                var byCreator: [String: Double] = [:]
                for session in sessions where session.startUnixSeconds >= from && session.startUnixSeconds < upper {
                    byCreator["\(session.creator)|\(session.creatorCountry)", default: 0] += session.salesCny
                }
                let expected = byCreator.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.prefix(3).map(\.value)
                #expect(stats.topCreators.map(\.salesCny) == Array(expected), "\(from)..<\(to)")
            }
        }
    }

    @Test("An unknown creator country is INVALID_ARGUMENT naming the field", arguments: StoreBackend.available)
    func badCountry(backend: StoreBackend) async throws {
        try await withTradeHarness(backend) { harness in
            await expectRPCError(.invalidArgument, mentioning: "creator_country") {
                _ = try await harness.client.hubStats(HubStatsRequest(hub: "horgos", creatorCountry: "XX"))
            }
        }
    }
}
