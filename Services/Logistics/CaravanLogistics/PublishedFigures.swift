import CaravanDomain
import CaravanLogisticsAPI

/// The China–Europe freight train figures as published for the end of 2024
/// (DOMAIN.md): what NetworkStats reports beside the counts it holds.
public enum PublishedFigures {
    public static let chineseCities: UInt64 = 128
    public static let europeanDestinations: UInt64 = 229  // "more than"
    public static let asianCities: UInt64 = 100  // "more than", in 11 countries
    public static let asianCountries: UInt64 = 11
    public static let cargoCategories: UInt64 = 53
    public static let varieties: UInt64 = 50_000  // "more than"; not modelled item by item

    public static let message = PublishedNetworkFigures(
        chineseCities: PublishedCount(value: chineseCities, moreThan: false),
        europeanDestinations: PublishedCount(value: europeanDestinations, moreThan: true),
        asianCities: PublishedCount(value: asianCities, moreThan: true),
        asianCountries: PublishedCount(value: asianCountries, moreThan: false),
        cargoCategories: PublishedCount(value: cargoCategories, moreThan: false),
        varieties: PublishedCount(value: varieties, moreThan: true),
        asOfDate: "2024-12-31",
        source: "China–Europe freight train figures: \(PublishedSource.chinaCentralAsiaBrief)"
    )
}
