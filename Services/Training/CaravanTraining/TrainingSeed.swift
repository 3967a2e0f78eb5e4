import CaravanTrainingAPI

/// The programs shipped with the service. The Horgos hub and its lines of
/// business (e-commerce live-streaming, car sales and repair, traditional
/// Chinese medicine, vocational training) are reported facts; the rail
/// logistics and renewable-energy programs follow the growth areas the
/// facts name. Every capacity and date here is synthetic, so each program
/// carries `synthetic = true` and its title says so.
public enum TrainingSeed {
    public static let hostCentre = "Horgos Yiwu International Trade City"
    public static let hostCity = "Horgos"
    public static let country = "CN"

    public static let programs: [TrainingProgram] = [
        Self.program(
            "Cross-border e-commerce live-streaming for Central Asian creators", "e-commerce live-streaming", "ru", 30,
            "2026-03-02", "2026-05-29"),
        Self.program(
            "Live-streaming sales in Chinese and Kazakh", "e-commerce live-streaming", "kk", 40, "2027-03-01",
            "2027-05-28"),
        Self.program(
            "Vehicle sales and after-sales service", "vehicle sales and repair", "ru", 24, "2027-02-15", "2027-06-30"),
        Self.program("Automotive repair technician", "vehicle sales and repair", "zh", 20, "2027-04-05", "2027-09-24"),
        Self.program(
            "Traditional Chinese medicine: foundations", "traditional Chinese medicine", "zh", 18, "2027-03-08",
            "2027-07-16"),
        Self.program(
            "Rail freight logistics and border clearance", "rail logistics", "ru", 32, "2027-04-12", "2027-07-30"),
        Self.program(
            "Wind and solar power equipment technician", "renewable energy technology", "ru", 28, "2027-05-10",
            "2027-10-29"),
        Self.program("Digital trade and cross-border payments", "digital trade", "ru", 36, "2027-06-07", "2027-08-27"),
    ]

    private static func program(
        _ title: String, _ field: String, _ language: String, _ capacity: UInt32, _ start: String, _ end: String
    ) -> TrainingProgram {
        TrainingProgram(
            title: title + " (synthetic capacity and dates)",
            field: field,
            hostCentre: Self.hostCentre,
            hostCity: Self.hostCity,
            country: Self.country,
            language: language,
            capacity: capacity,
            startDate: start,
            endDate: end,
            synthetic: true
        )
    }
}
