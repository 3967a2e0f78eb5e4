import CaravanDomain
import CaravanTradeAPI
import Foundation

/// Generates synthetic live-streaming sessions at the Horgos hub for
/// benchmarks: deterministic for a seed, every session `synthetic` and its
/// creator named so nobody takes it for a person.
public struct SyntheticSessionGenerator: Sendable {
    /// Sessions start in these years, spread evenly.
    public var years: ClosedRange<Int64>
    public var seed: UInt64
    /// Distinct creators drawn from.
    public var creators: Int

    public init(years: ClosedRange<Int64> = 2020...2024, seed: UInt64 = 42, creators: Int = 500) {
        self.years = years
        self.seed = seed
        self.creators = creators
    }

    /// Sessions per transaction of the bulk load.
    static let batchSize = 5_000

    func session(_ random: inout SplitMix64) -> LiveStreamSession {
        let from = UTCCalendar.startOfYear(self.years.lowerBound)
        let span = UInt64(UTCCalendar.startOfYear(self.years.upperBound + 1) - from)
        let creator = Int(random.next() % UInt64(self.creators))
        return LiveStreamSession(
            hub: TradeSeed.horgosShortName,
            creator: "Synthetic creator \(creator)",
            creatorCountry: CountryCode.centralAsia[creator % CountryCode.centralAsia.count],
            startUnixSeconds: from + Int64(random.next() % span),
            durationMinutes: UInt32(30 + random.next() % 150),
            newFollowers: random.next() % 5_000,
            salesCny: Double(1_000 + random.next() % 199_000),
            synthetic: true)
    }

    /// Writes `count` sessions, one transaction per batch, through the same
    /// workflow as recorded sessions (so the hub's totals follow).
    public func generate(count: Int, into store: any TradeStore) async throws {
        var random = SplitMix64(seed: self.seed)
        let now = Int64(Date().timeIntervalSince1970)
        var remaining = count
        while remaining > 0 {
            let size = min(remaining, Self.batchSize)
            var batch: [LiveStreamSession] = []
            batch.reserveCapacity(size)
            for _ in 0..<size { batch.append(self.session(&random)) }
            let sessions = batch
            try await store.write { transaction in
                try await TradeWorkflow.recordSessions(
                    sessions, hub: TradeSeed.horgosShortName, now: now, in: transaction)
            }
            remaining -= size
        }
        try await store.refreshStatistics()
    }
}
