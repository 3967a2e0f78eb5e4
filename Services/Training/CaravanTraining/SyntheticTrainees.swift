import CaravanDomain
import CaravanTrainingAPI

/// Generated trainees for benchmarks: deterministic, named so nobody takes
/// them for people, and flagged `synthetic`.
public enum SyntheticTrainees {
    /// Home countries cycle through the five Central Asian states and China.
    static let countries = CountryCode.centralAsia + ["CN"]

    public static func make(count: Int, startingAt first: Int = 1) -> [Trainee] {
        (first..<(first + count)).map { index in
            Trainee(
                name: "Synthetic trainee \(index)",
                country: Self.countries[index % Self.countries.count],
                contact: "",
                synthetic: true
            )
        }
    }

    /// Writes `count` synthetic trainees in one transaction per batch of
    /// 100,000 (one transaction for the benchmark's 100,000).
    public static func generate(count: Int, into store: any TrainingStore) async throws {
        let batch = 100_000
        var written = 0
        while written < count {
            let size = min(batch, count - written)
            try await store.insertTrainees(Self.make(count: size, startingAt: written + 1))
            written += size
        }
    }
}
