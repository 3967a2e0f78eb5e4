import CaravanDomain
import CaravanTradeAPI

/// The energy cooperation the seed reports (figures as published for the
/// end of 2024): three named renewable projects in Kazakhstan, Kazakhstan
/// weighing China National Nuclear Corporation for its first nuclear power
/// plant, and Uzbekistan as the region's largest destination for Chinese
/// wind turbine generators. The source publishes no capacity and no stage
/// for any of them, so none is given: a capacity stays absent and the
/// status says "not published" rather than guessing.
///
/// Stated once, here; each backend's migration only writes them.
public enum EnergySeed {
    public static let projects: [EnergyProject] = [
        Self.named("zhanatas-wind-farm", "Zhanatas wind farm", .wind),
        Self.named("turgusun-hydropower-station", "Turgusun hydropower station", .hydro),
        Self.named("kaskelen-photovoltaic-power-station", "Kaskelen photovoltaic power station", .solar),
        EnergyProject(
            id: "kazakhstan-first-nuclear-power-plant", name: "Kazakhstan's first nuclear power plant", country: "KZ",
            kind: .nuclear, status: .underConsideration, chinesePartner: "China National Nuclear Corporation",
            description: "Kazakhstan is weighing China National Nuclear Corporation for its first nuclear power plant.",
            source: PublishedSource.chinaCentralAsiaBrief),
        EnergyProject(
            id: "uzbekistan-wind-turbine-generators", name: "Chinese wind turbine generators for Uzbekistan",
            country: "UZ", kind: .equipmentTrade, status: .ongoing,
            description: "Uzbekistan is the region's largest destination for Chinese wind turbine generators.",
            source: PublishedSource.chinaCentralAsiaBrief),
    ]

    /// One of the renewable projects the source names in Kazakhstan, and no more than that.
    private static func named(_ id: String, _ name: String, _ kind: EnergyProjectKind) -> EnergyProject {
        EnergyProject(
            id: id, name: name, country: "KZ", kind: kind, status: .notPublished,
            description: "A renewable-energy project in Kazakhstan named in the source; its capacity and stage are "
                + "not published.",
            source: PublishedSource.chinaCentralAsiaBrief)
    }
}
