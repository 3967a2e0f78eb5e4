import CaravanDomain
import CaravanSQLite

/// The reported facts the service ships with (the project's DOMAIN.md,
/// Trade), figures as published for the end of 2024.
///
/// Only published aggregates are seeded, never flows: the USD 94.8 billion
/// total has no published breakdown, and inventing one would blur what was
/// reported with what was made up.
///
/// The facts are stated once, here; each backend's seed (``insert(_:)``
/// for SQLite, `TradeSeed+Postgres.swift`) only writes them.
public enum TradeSeed {
    /// Where the seeded figures come from: the publication, as users are shown it.
    public static let source = PublishedSource.chinaCentralAsiaBrief

    /// The source the `trade-seed-v1` migration wrote before the publication
    /// was named; ``TradeMigrations/publishedSourceV4`` replaces it.
    static let sourceOfSeedV1 =
        "Reported figures for the end of 2024, China–Central Asia cooperation brief (Caravan DOMAIN.md, Trade)"
    /// The tables whose rows carry ``source``.
    static let tablesWithSource = ["published_figure", "trade_milestone", "hub_published_figure"]

    /// The date every seeded figure is as of.
    static let asOfDate = "2024-12-31"

    /// The year of the published total.
    static let totalYear = 2024
    /// The published 2024 China–Central Asia trade total, in USD.
    public static let total2024USD = 94.8e9
    static let total2024Description =
        "Bilateral China–Central Asia trade in 2024 (all five partners), as published; no breakdown was published"

    static let milestoneName = "usd-100-billion"
    /// The milestone the total approaches, in USD.
    public static let milestoneUSD = 100e9
    static let milestoneDescription =
        "The USD 100 billion China–Central Asia trade milestone the 2024 total approaches"

    /// The Horgos hub, as answers name it.
    public static let horgosName = "Horgos Yiwu International Trade City"
    public static let horgosShortName = "horgos"
    static let horgosCountry = "CN"
    static let horgosDescription =
        "On the China–Kazakhstan border; a hub for cross-border e-commerce live-streaming, where Central Asian "
        + "content creators broadcast Chinese goods to global audiences. Also car sales and repair, a "
        + "traditional Chinese medicine facility and vocational training programs."
    /// Published lower bounds by the end of 2024.
    public static let horgosFollowers: Int64 = 5_000_000
    public static let horgosSalesCNY = 100e6
    public static let horgosSalesUSD = 13.94e6
    static let horgosFiguresDescription =
        "More than 5 million international followers and over CNY 100 million (about USD 13.94 million) "
        + "in transactions by the end of 2024; both published as lower bounds"

    /// The seeded rate converts this currency into ``rateQuote``.
    static let rateBase = "CNY"
    static let rateQuote = "USD"
    /// USD per CNY implied by the published pair CNY 100 million ≈ USD 13.94 million.
    public static let cnyUSDRate = 0.1394
    static let cnyUSDRateSource =
        "Implied by the published Horgos figures: CNY 100 million ≈ USD 13.94 million (end of 2024)"

    /// Inserts the seed; `OR IGNORE` keeps it harmless if ever run twice.
    static func insert(_ db: SQLiteConnection) throws {
        try db.execute(
            """
            INSERT OR IGNORE INTO published_figure (year, country, value_usd, description, source)
            VALUES (?, '', ?, ?, ?)
            """,
            Self.totalYear, Self.total2024USD, Self.total2024Description, Self.source)
        try db.execute(
            "INSERT OR IGNORE INTO trade_milestone (name, target_usd, description, source) VALUES (?, ?, ?, ?)",
            Self.milestoneName, Self.milestoneUSD, Self.milestoneDescription, Self.source)
        try db.execute(
            """
            INSERT OR IGNORE INTO exchange_rate (base_currency, quote_currency, as_of_date, rate, source)
            VALUES (?, ?, ?, ?, ?)
            """,
            Self.rateBase, Self.rateQuote, Self.asOfDate, Self.cnyUSDRate, Self.cnyUSDRateSource)
        try db.execute(
            "INSERT OR IGNORE INTO hub (name, short_name, country, description) VALUES (?, ?, ?, ?)",
            Self.horgosName, Self.horgosShortName, Self.horgosCountry, Self.horgosDescription)
        try db.execute(
            """
            INSERT OR IGNORE INTO hub_published_figure
                (hub_id, as_of_date, followers, sales_cny, sales_usd, description, source)
            SELECT id, ?, ?, ?, ?, ?, ? FROM hub WHERE short_name = ?
            """,
            Self.asOfDate, Self.horgosFollowers, Self.horgosSalesCNY, Self.horgosSalesUSD,
            Self.horgosFiguresDescription, Self.source, Self.horgosShortName)
    }
}
