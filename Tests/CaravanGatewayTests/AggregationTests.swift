import CaravanCore
import CaravanGatewayAPI
import CaravanTestSupport
import CaravanTradeAPI
import Testing

@testable import CaravanGateway

private func context(deadline: Duration?) -> ServerContext {
    ServerContext(
        descriptor: Gateway.Method.countryProfile, deadline: deadline.map { ContinuousClock.now.advanced(by: $0) })
}

@Suite("Aggregation: fan-out, section outcomes, required sections, deadline split")
struct AggregationTests {
    @Test("The deadline split keeps a margin: 5% of what is left, at least 5 ms, at most 100 ms")
    func split() {
        let split = DeadlineSplit.defaults
        let now = ContinuousClock.now
        #expect(
            split.sectionDeadline(callerDeadline: now.advanced(by: .seconds(1)), now: now)
                == now.advanced(by: .milliseconds(950)))
        #expect(
            split.sectionDeadline(callerDeadline: now.advanced(by: .milliseconds(50)), now: now)
                == now.advanced(by: .milliseconds(45)))
        #expect(
            split.sectionDeadline(callerDeadline: now.advanced(by: .seconds(10)), now: now)
                == now.advanced(by: .milliseconds(9900)))
        #expect(split.sectionDeadline(callerDeadline: now.advanced(by: .milliseconds(3)), now: now) == now)
        #expect(split.sectionDeadline(callerDeadline: nil, now: now) == now.advanced(by: .seconds(5)))
    }

    @Test("A complete profile, with the sections fetched concurrently")
    func complete() async throws {
        // Concurrent, not one after another: each backend's calls wait until
        // a call to every backend has begun.
        let barrier = Barrier(parties: ["trade", "logistics", "training"])
        var backends = FakeBackends()
        backends.trade = .meet(barrier, then: .milliseconds(200))
        backends.logistics = .meet(barrier, then: .milliseconds(200))
        backends.training = .meet(barrier, then: .milliseconds(200))
        let provider = GatewayProvider(backends: backends)
        let response = try await provider.countryProfile(
            request: CountryProfileRequest(country: "kz", year: 2024), context: context(deadline: .seconds(60)))
        #expect(response.country == "KZ" && !response.partial)
        #expect(response.trade?.outcome?.status == .ok && response.trade?.totalUsd == 94.8e9)
        #expect(response.trade?.topCategories.first?.category == "auto parts")
        #expect(response.logistics?.cities == 2 && response.logistics?.borderCrossings == 1)
        #expect(response.logistics?.railLinks == 2 && response.logistics?.crossBorderLinks == 1)
        #expect(response.logistics?.shipmentsDelivered == 1 && response.logistics?.shipmentsUnderWay == 5)
        #expect(response.training?.programs == 3)
        #expect(response.hub?.sessions == 2 && response.hub?.newFollowers == 7)
        #expect((response.trade?.outcome?.latencyMicros ?? 0) >= 200_000)
    }

    @Test("The trade section's largest categories come from the summary's grouping, with shares of the recorded total")
    func categoriesFromSummary() {
        let summary = GetSummaryResponse(
            recordedTotalUsd: 200, byCategoryUsd: ["b": 60, "a": 60, "c": 80, "d": 1, "e": 2, "f": 4])
        let top = SectionFetchers.largestCategories(summary, count: 5)
        #expect(top.map(\.category) == ["c", "a", "b", "f", "e"], "by value, ties by name; the smallest dropped")
        #expect(top.map(\.sharePercent) == [40, 30, 30, 2, 1])
        #expect(
            SectionFetchers.largestCategories(GetSummaryResponse(byCategoryUsd: ["a": 0]), count: 5).map(\.sharePercent)
                == [0])
    }

    @Test("The hub section is the backend's totals: all creators for the overview, one country's for a profile")
    func hubTotals() async throws {
        let provider = GatewayProvider(backends: FakeBackends())
        let overview = try await provider.partnershipOverview(
            request: PartnershipOverviewRequest(year: 2024), context: context(deadline: .seconds(5)))
        #expect(overview.hub?.sessions == 3 && overview.hub?.salesCny == 100)
        let profile = try await provider.countryProfile(
            request: CountryProfileRequest(country: "UZ", year: 2024), context: context(deadline: .seconds(5)))
        #expect(profile.hub?.sessions == 1 && profile.hub?.newFollowers == 3 && profile.hub?.salesCny == 40)
    }

    @Test("The energy section: every partner's projects in the overview, the country's in a profile, as words")
    func energy() async throws {
        let provider = GatewayProvider(backends: FakeBackends())
        let overview = try await provider.partnershipOverview(
            request: PartnershipOverviewRequest(year: 2024), context: context(deadline: .seconds(5)))
        #expect(overview.energy?.outcome?.status == .ok && overview.energy?.projects.map(\.id) == ["w", "n", "t"])
        let nuclear = try #require(overview.energy?.projects.first { $0.id == "n" })
        #expect(nuclear.kind == "nuclear" && nuclear.status == "under consideration" && nuclear.capacityMw == 1_000)
        #expect(nuclear.chinesePartner == "a corporation")
        #expect(overview.energy?.projects.first { $0.id == "t" }?.kind == "equipment trade")
        #expect(overview.energy?.projects.first { $0.id == "w" }?.capacityMw == nil, "none published: absent")
        let uz = try await provider.countryProfile(
            request: CountryProfileRequest(country: "UZ", year: 2024), context: context(deadline: .seconds(5)))
        #expect(uz.energy?.projects.map(\.id) == ["t"] && uz.energy?.noData == false)
        let tj = try await provider.countryProfile(
            request: CountryProfileRequest(country: "TJ", year: 2024), context: context(deadline: .seconds(5)))
        #expect(tj.energy?.noData == true)
        #expect(tj.energy?.noDataMessage == "No energy cooperation projects are recorded for TJ.")

        // Context, not a headline: its failure leaves the answer whole but partial.
        var failing = FakeBackends()
        failing.trade = .fail(.unavailable)
        let partial = try await GatewayProvider(backends: failing).countryProfile(
            request: CountryProfileRequest(country: "KZ", year: 2024), context: context(deadline: .seconds(5)))
        #expect(partial.energy?.outcome?.status == .failed && partial.partial)
    }

    @Test("An OK section without figures says so: no_data and a sentence; one with figures does not")
    func noData() async throws {
        let empty = GatewayProvider(backends: FakeBackends(empty: true))
        let profile = try await empty.countryProfile(
            request: CountryProfileRequest(country: "KZ", year: 2024), context: context(deadline: .seconds(5)))
        #expect(profile.trade?.outcome?.status == .ok && profile.trade?.noData == true)
        #expect(
            profile.trade?.noDataMessage
                == "No trade figures for KZ in 2024: no flows are recorded and no figure is published.")
        #expect(profile.logistics?.noData == true && profile.logistics?.noDataMessage.contains("KZ") == true)
        #expect(
            profile.training?.noData == true
                && profile.training?.noDataMessage == "No training programs are hosted in KZ.")
        #expect(
            profile.hub?.noData == true
                && profile.hub?.noDataMessage == "No live-streaming sessions by creators from KZ were recorded in 2024."
        )
        #expect(profile.energy?.noData == true)
        let overview = try await empty.partnershipOverview(
            request: PartnershipOverviewRequest(year: 2024), context: context(deadline: .seconds(5)))
        #expect(overview.training?.noDataMessage == "No training programs are held.")
        #expect(overview.trade?.noDataMessage.contains("for the partnership in 2024") == true)

        let full = try await GatewayProvider(backends: FakeBackends()).countryProfile(
            request: CountryProfileRequest(country: "KZ", year: 2024), context: context(deadline: .seconds(5)))
        for (noData, message) in [
            (full.trade?.noData, full.trade?.noDataMessage), (full.logistics?.noData, full.logistics?.noDataMessage),
            (full.training?.noData, full.training?.noDataMessage), (full.hub?.noData, full.hub?.noDataMessage),
            (full.energy?.noData, full.energy?.noDataMessage),
        ] {
            #expect(noData == false && message == "")
        }
    }

    @Test("A failed backend fails its section only, with code and message")
    func failedSection() async throws {
        var backends = FakeBackends()
        backends.logistics = .fail(.unavailable)
        let response = try await GatewayProvider(backends: backends).partnershipOverview(
            request: PartnershipOverviewRequest(year: 2024), context: context(deadline: .seconds(5)))
        #expect(response.partial)
        #expect(response.logistics?.outcome?.status == .failed)
        #expect(response.logistics?.outcome?.rpcStatusCode == 14)
        #expect(response.logistics?.outcome?.message.contains("UNAVAILABLE") == true)
        #expect(response.trade?.outcome?.status == .ok && response.trade?.milestone == nil)
        #expect(response.logistics?.cities == 0)
    }

    @Test("A stalled backend times out within the caller's deadline; the rest arrive")
    func timedOut() async throws {
        var backends = FakeBackends()
        backends.training = .stall
        let start = ContinuousClock.now
        let response = try await GatewayProvider(backends: backends).countryProfile(
            request: CountryProfileRequest(country: "UZ", year: 2024), context: context(deadline: .seconds(5)))
        let elapsed = start.duration(to: .now)
        // The sections stop at 4.9 s (the margin is at most 100 ms); the upper
        // bound only catches a hang (a busy machine delays, never speeds up).
        #expect(elapsed >= .milliseconds(4_850) && elapsed < .seconds(15), "\(elapsed)")
        #expect(response.training?.outcome?.status == .timedOut)
        #expect(response.training?.outcome?.rpcStatusCode == 4)
        #expect(response.trade?.outcome?.status == .ok && response.partial)
        // Every backend call was given at most what was left minus the margin.
        #expect(backends.seenTimeouts.values.allSatisfy { $0 <= .milliseconds(4_900) })
    }

    @Test("A backend with no replicas configured is SKIPPED, without a call; not partial")
    func skipped() async throws {
        var backends = FakeBackends()
        backends.configured = [.trade, .logistics]
        let response = try await GatewayProvider(backends: backends).countryProfile(
            request: CountryProfileRequest(country: "KG", year: 2024), context: context(deadline: .seconds(20)))
        #expect(response.training?.outcome?.status == .skipped)
        #expect(!response.partial)
    }

    @Test("The call fails only when every required section failed")
    func everyRequiredFailed() async throws {
        var backends = FakeBackends()
        backends.trade = .fail(.unavailable)
        backends.logistics = .fail(.internal)
        backends.training = .fail(.unavailable)
        let error = await #expect(throws: RPCError.self) {
            try await GatewayProvider(backends: backends).countryProfile(
                request: CountryProfileRequest(country: "KZ", year: 2024), context: context(deadline: .seconds(20)))
        }
        #expect(error?.code == .unavailable)
        #expect(error?.message.contains("logistics: SECTION_STATUS_FAILED") == true)
        // All timed out: DEADLINE_EXCEEDED.
        backends = FakeBackends(trade: .stall, logistics: .stall, training: .stall)
        let timeout = await #expect(throws: RPCError.self) {
            try await GatewayProvider(backends: backends).partnershipOverview(
                request: PartnershipOverviewRequest(year: 2024), context: context(deadline: .milliseconds(100)))
        }
        #expect(timeout?.code == .deadlineExceeded)
    }

    @Test("Required sections are data: an optional section alone does not make an answer")
    func plan() {
        var outcomes: [SectionName: SectionOutcome] = [:]
        for name in SectionName.allCases { outcomes[name] = SectionOutcome(status: .failed) }
        outcomes[.hub] = SectionOutcome(status: .ok)
        #expect(AggregatePlan.countryProfile.verdict(outcomes) != nil)
        #expect(AggregatePlan.partnershipOverview.verdict(outcomes) == nil)
        #expect(
            AggregatePlan.countryProfile.sections.filter(\.required).map(\.name) == [.trade, .logistics, .training])
    }

    @Test("Invalid requests fail INVALID_ARGUMENT before any backend call")
    func invalid() async throws {
        let backends = FakeBackends()
        let provider = GatewayProvider(backends: backends)
        for request in [
            CountryProfileRequest(country: "FR", year: 2024), CountryProfileRequest(country: "KZ", year: 1800),
        ] {
            let error = await #expect(throws: RPCError.self) {
                try await provider.countryProfile(request: request, context: context(deadline: .seconds(1)))
            }
            #expect(error?.code == .invalidArgument)
        }
        #expect(backends.seenTimeouts.values.isEmpty)
    }
}
