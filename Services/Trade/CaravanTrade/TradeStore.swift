import CaravanCore
import CaravanTradeAPI

/// Where the trade service keeps its flows, published figures and hub
/// sessions: ``SQLiteTradeStore`` (the default) or ``PostgresTradeStore``
/// (`--database`), which behave the same; the logic in
/// ``TradeServiceProvider`` and ``TradeWorkflow`` only sees this protocol.
///
/// Reads answer from committed data; summaries and hub statistics read the
/// totals the writes maintain, so they cost the same however many flows
/// and sessions are stored.
public protocol TradeStore: Sendable {
    /// Runs `body` in one write transaction; returns once it has committed.
    func write<T: Sendable>(
        _ body: nonisolated(nonsending) @escaping @Sendable (any TradeTransaction) async throws -> T
    ) async throws -> T

    /// The flow with this id, or nil.
    func flow(id: Int64) async throws -> TradeFlow?

    /// Up to `limit` flows matching `query`, in (year, month, id) order,
    /// starting after `cursor`.
    func flows(matching query: FlowQuery, after cursor: FlowCursor?, limit: Int) async throws -> [TradeFlow]

    /// Recorded totals for one year (one country, or all when nil), grouped
    /// by country, direction, category and whether synthetic.
    func flowTotals(year: Int, country: String?) async throws -> [FlowTotal]

    /// Everything a yearly summary needs, read from one snapshot: the
    /// year's totals, the previous year's, the published figure for the
    /// year and country ("" for the whole region), and the milestone.
    func summaryFigures(year: Int, country: String?) async throws -> SummaryFigures

    /// A hub's recorded activity and published figures for a period, from
    /// one snapshot: sessions by creators of `creatorCountry` only when it
    /// is set; the `topCreators` largest creators by sales (none for 0).
    /// Throws ``TradeError/unknownHub(_:known:)`` when there is no such hub.
    func hubActivity(hub: String, period: Range<Int64>, topCreators: Int, creatorCountry: String?) async throws
        -> HubActivity

    /// The latest rate to convert `base` into `quote`, e.g. CNY into USD.
    func exchangeRate(base: String, quote: String) async throws -> ExchangeRate?

    /// The energy cooperation projects of one partner (every partner's
    /// when nil), by country, then name.
    func energyProjects(country: String?) async throws -> [EnergyProject]

    /// Refreshes the query planner's statistics after a bulk load, so
    /// filtered listings of a big table choose their indexes well.
    func refreshStatistics() async throws
}
/// Validated filters for listing flows; nil matches everything.
public struct FlowQuery: Sendable, Hashable {
    public var yearFrom: Int?
    public var yearTo: Int?
    /// ISO alpha-2, upper case.
    public var country: String?
    public var direction: TradeDirection?
    /// Compared case-insensitively.
    public var category: String?

    public init(
        yearFrom: Int? = nil, yearTo: Int? = nil, country: String? = nil,
        direction: TradeDirection? = nil, category: String? = nil
    ) {
        self.yearFrom = yearFrom
        self.yearTo = yearTo
        self.country = country
        self.direction = direction
        self.category = category
    }

    /// A stable description of the filter, which page tokens are bound to.
    var fingerprint: String {
        [
            self.yearFrom.map(String.init) ?? "", self.yearTo.map(String.init) ?? "", self.country ?? "",
            self.direction.map { String($0.rawValue) } ?? "", self.category?.lowercased() ?? "",
        ].joined(separator: "|")
    }
}

/// One group of recorded flows in a year: the maintained aggregate row.
public struct FlowTotal: Sendable, Hashable {
    public var country: String
    public var direction: TradeDirection
    public var category: String
    public var synthetic: Bool
    public var valueUSD: Double
    public var flowCount: Int64

    public init(
        country: String, direction: TradeDirection, category: String, synthetic: Bool,
        valueUSD: Double, flowCount: Int64
    ) {
        self.country = country
        self.direction = direction
        self.category = category
        self.synthetic = synthetic
        self.valueUSD = valueUSD
        self.flowCount = flowCount
    }
}

/// What a yearly summary is computed from (see ``TradeStore/summaryFigures(year:country:)``).
public struct SummaryFigures: Sendable, Equatable {
    public var totals: [FlowTotal]
    public var previousYearTotalUSD: Double
    public var previousYearFlowCount: Int64
    public var published: PublishedFigure?
    public var milestone: TradeMilestone

    public init(
        totals: [FlowTotal], previousYearTotalUSD: Double, previousYearFlowCount: Int64, published: PublishedFigure?,
        milestone: TradeMilestone
    ) {
        self.totals = totals
        self.previousYearTotalUSD = previousYearTotalUSD
        self.previousYearFlowCount = previousYearFlowCount
        self.published = published
        self.milestone = milestone
    }
}

/// A target that totals are measured against (USD 100 billion).
public struct TradeMilestone: Sendable, Hashable {
    public var targetUSD: Double
    public var description: String
    public var source: String

    public init(targetUSD: Double, description: String, source: String) {
        self.targetUSD = targetUSD
        self.description = description
        self.source = source
    }
}

/// What a hub recorded in a period, with its published figures.
public struct HubActivity: Sendable, Equatable {
    /// The hub's full name.
    public var hub: String
    public var sessions: UInt64
    public var syntheticSessions: UInt64
    public var newFollowers: UInt64
    public var salesCNY: Double
    /// Largest sales first; sales_usd left for the caller to convert.
    public var topCreators: [CreatorTotal]
    public var published: HubPublishedFigures?

    public init(
        hub: String, sessions: UInt64, syntheticSessions: UInt64, newFollowers: UInt64, salesCNY: Double,
        topCreators: [CreatorTotal], published: HubPublishedFigures?
    ) {
        self.hub = hub
        self.sessions = sessions
        self.syntheticSessions = syntheticSessions
        self.newFollowers = newFollowers
        self.salesCNY = salesCNY
        self.topCreators = topCreators
        self.published = published
    }
}
