import CaravanLogisticsAPI

/// Everything the network is made of, as stored: cities, links (retired
/// ones too) and cargo categories, at one version.
public struct NetworkData: Sendable {
    /// Bumped by every committed change to the links.
    public var version: Int64
    /// In their stored order (never changes: cities are seeded only).
    public var cities: [RailCity]
    public var links: [StoredLink]
    public var categories: [CargoCategory]

    public init(version: Int64, cities: [RailCity], links: [StoredLink], categories: [CargoCategory]) {
        self.version = version
        self.cities = cities
        self.links = links
        self.categories = categories
    }
}

/// A link with its storage key (which orders links and pages them).
public struct StoredLink: Sendable, Equatable {
    public var seq: Int64
    public var link: RailLink

    public init(seq: Int64, link: RailLink) {
        self.seq = seq
        self.link = link
    }
}
