import CaravanTrainingAPI

/// The programs shipped with the service. The Horgos hub and its lines of
/// business (e-commerce live-streaming, car sales and repair, traditional
/// Chinese medicine, vocational training) are reported facts; the rail
/// logistics and renewable-energy programs follow the growth areas the
/// facts name. Every capacity and date here is synthetic (the source
/// publishes none), so each program carries `synthetic = true` and its
/// title says so.
///
/// The dates are placed relative to the store's first start, when the seed
/// migration runs: the first program opens four weeks later, the others
/// every two weeks after it, so a new system never ships programs that have
/// already finished. They are stored then, and stay as they are on later
/// starts.
public enum TrainingSeed {
    public static let hostCentre = "Horgos Yiwu International Trade City"
    public static let hostCity = "Horgos"
    public static let country = "CN"

    /// One seeded program, its dates as days after the first start.
    public struct Plan: Sendable {
        public var title: String
        public var field: String
        public var language: String
        public var capacity: UInt32
        public var startDay: Int64
        public var durationDays: Int64
    }

    /// Days from the first start to the first program's start, and between starts.
    static let firstStartDay: Int64 = 28
    static let daysBetweenStarts: Int64 = 14

    /// Title, field, language, capacity and duration in days, in the order the programs start.
    private static let schedule: [(String, String, String, UInt32, Int64)] = [
        (
            "Cross-border e-commerce live-streaming for Central Asian creators", "e-commerce live-streaming", "ru", 30,
            88
        ),
        ("Live-streaming sales in Chinese and Kazakh", "e-commerce live-streaming", "kk", 40, 88),
        ("Vehicle sales and after-sales service", "vehicle sales and repair", "ru", 24, 135),
        ("Automotive repair technician", "vehicle sales and repair", "zh", 20, 172),
        ("Traditional Chinese medicine: foundations", "traditional Chinese medicine", "zh", 18, 130),
        ("Rail freight logistics and border clearance", "rail logistics", "ru", 32, 109),
        ("Wind and solar power equipment technician", "renewable energy technology", "ru", 28, 172),
        ("Digital trade and cross-border payments", "digital trade", "ru", 36, 81),
    ]

    public static let plans: [Plan] = Self.schedule.enumerated().map { index, program in
        Plan(
            title: program.0, field: program.1, language: program.2, capacity: program.3,
            startDay: Self.firstStartDay + Int64(index) * Self.daysBetweenStarts, durationDays: program.4)
    }

    /// The programs to store for a store first started at `firstStart` (Unix seconds).
    public static func programs(firstStart: Int64) -> [TrainingProgram] {
        Self.plans.map { plan in
            let start = firstStart + plan.startDay * 86_400
            return TrainingProgram(
                title: plan.title + " (synthetic capacity and dates)",
                field: plan.field,
                hostCentre: Self.hostCentre,
                hostCity: Self.hostCity,
                country: Self.country,
                language: plan.language,
                capacity: plan.capacity,
                startDate: CalendarDate.utc(secondsSince1970: start),
                endDate: CalendarDate.utc(secondsSince1970: start + plan.durationDays * 86_400),
                synthetic: true
            )
        }
    }
}
