import CaravanCore
import CaravanDomain
import CaravanSQLite
import CaravanTradeAPI

/// The trade store on SQLite: writes on the database's one writer, reads
/// on the calling thread's own connection (``SQLiteDatabase``).
///
/// Point reads and maintained totals are read where the call runs; reads
/// whose cost grows with the data (flow listings, a period's top creators)
/// run on the read pool, so they never hold up an event loop's other calls.
public struct SQLiteTradeStore: TradeStore {
    public let database: SQLiteDatabase

    /// Wraps a database the ``TradeMigrations`` have already been applied to.
    public init(database: SQLiteDatabase) {
        self.database = database
    }

    public func write<T: Sendable>(
        _ body: nonisolated(nonsending) @escaping @Sendable (any TradeTransaction) async throws -> T
    ) async throws -> T {
        try await self.database.write { connection in try await body(SQLiteTradeTransaction(connection: connection)) }
    }

    public func refreshStatistics() async throws {
        try await self.database.write { connection in try connection.execute("ANALYZE") }
    }

    // MARK: Flows

    public func flow(id: Int64) async throws -> TradeFlow? {
        try self.database.read { connection in
            try connection.one("SELECT \(TradeFlow.storedColumns) FROM trade_flow WHERE id = ?", id, as: Self.flow)
        }
    }

    public func flows(matching query: FlowQuery, after cursor: FlowCursor?, limit: Int) async throws -> [TradeFlow] {
        let page = FlowPageQuery(query, after: cursor, limit: limit) { _ in "?" }
        let arguments = page.arguments.map { argument -> SQLiteValue in
            switch argument {
            case .integer(let value): .integer(value)
            case .text(let value): .text(value)
            }
        }
        return try await self.database.readOffloaded { connection in
            try connection.all(page.sql, arguments: arguments, as: Self.flow)
        }
    }

    public func flowTotals(year: Int, country: String?) async throws -> [FlowTotal] {
        try self.database.read { connection in try Self.totals(connection, year: year, country: country) }
    }

    public func summaryFigures(year: Int, country: String?) async throws -> SummaryFigures {
        // One read transaction: the year, the year before and the
        // published figure agree with each other.
        try self.database.read { connection in
            let (previousTotal, previousCount) =
                try connection.all(
                    """
                    SELECT TOTAL(value_usd), COALESCE(SUM(flow_count), 0) FROM trade_flow_total
                    WHERE year = ?\(country == nil ? "" : " AND country = ?")
                    """, arguments: [.integer(Int64(year - 1))] + (country.map { [.text($0)] } ?? [])
                ) { row in (row.double(0), row.int64(1)) }.first ?? (0, 0)
            return SummaryFigures(
                totals: try Self.totals(connection, year: year, country: country),
                previousYearTotalUSD: previousTotal,
                previousYearFlowCount: previousCount,
                published: try connection.one(
                    "SELECT year, country, value_usd, description, source FROM published_figure WHERE year = ? AND country = ?",
                    Int64(year), country ?? ""
                ) { row in
                    PublishedFigure(
                        year: UInt32(row.int64(0)), country: row.text(1), valueUsd: row.double(2),
                        description: row.text(3), source: row.text(4))
                },
                milestone: try Self.milestone(connection))
        }
    }

    static func milestone(_ connection: SQLiteConnection) throws -> TradeMilestone {
        guard
            let milestone = try connection.one(
                "SELECT target_usd, description, source FROM trade_milestone ORDER BY name LIMIT 1",
                as: { row in TradeMilestone(targetUSD: row.double(0), description: row.text(1), source: row.text(2)) })
        else {
            // The seed always inserts one; a database without it was tampered with.
            throw RPCError(code: .internal, message: "Storage failed: trade_milestone has no row.")
        }
        return milestone
    }

    /// The maintained totals of a year: a primary-key range of a few hundred rows.
    static func totals(_ connection: SQLiteConnection, year: Int, country: String?) throws -> [FlowTotal] {
        let decode = { (row: SQLiteRow) in
            FlowTotal.stored(
                (row.text(0), row.int64(1), row.text(2), row.bool(3), row.double(4), row.int64(5)))
        }
        let sql = "SELECT \(FlowTotal.storedColumns) FROM trade_flow_total WHERE year = ? AND flow_count > 0"
        if let country {
            return try connection.all(sql + " AND country = ?", Int64(year), country, as: decode)
        }
        return try connection.all(sql, Int64(year), as: decode)
    }

    static func flow(_ row: SQLiteRow) -> TradeFlow {
        // By position, in the order of `TradeFlow.storedColumns`.
        TradeFlow.stored(
            (
                row.int64(0), row.int64(1), row.int64(2), row.text(3), row.int64(4), row.text(5), row.double(6),
                row.text(7), row.bool(8), row.int64(9)
            ))
    }

    public func exchangeRate(base: String, quote: String) async throws -> ExchangeRate? {
        try self.database.read { connection in
            try connection.one(
                """
                SELECT base_currency, quote_currency, rate, source, as_of_date FROM exchange_rate
                WHERE base_currency = ? AND quote_currency = ? ORDER BY as_of_date DESC LIMIT 1
                """, base, quote
            ) { row in
                ExchangeRate(
                    baseCurrency: row.text(0), quoteCurrency: row.text(1), rate: row.double(2), source: row.text(3),
                    asOfDate: row.text(4))
            }
        }
    }

    // MARK: Energy cooperation

    public func energyProjects(country: String?) async throws -> [EnergyProject] {
        let sql = SQLiteConnection.numberedPlaceholders(EnergyProject.storedQuery(byCountry: country != nil))
        let decode = { (row: SQLiteRow) in
            EnergyProject.stored(
                (
                    row.text(0), row.text(1), row.text(2), row.int64(3), row.int64(4),
                    row.isNull(5) ? nil : row.double(5), row.text(6), row.text(7), row.text(8), row.bool(9)
                ))
        }
        return try self.database.read { connection in
            try connection.all(sql, arguments: country.map { [SQLiteValue.text($0)] } ?? [], as: decode)
        }
    }

    // MARK: The hub

    public func hubActivity(hub name: String, period: Range<Int64>, topCreators: Int, creatorCountry: String?)
        async throws -> HubActivity
    {
        let cover = HubPeriodCover(period: period)
        let allTime = period.lowerBound <= 0 && period.upperBound >= HubPeriodCover.latest
        var activity = try self.database.read { connection -> HubActivity in
            guard let hub = try Self.hub(named: name, connection) else {
                throw TradeError.unknownHub(name, known: try Self.hubNames(connection))
            }
            var arguments: [SQLiteValue] = [.integer(hub.id)] + HubActivityQuery.ranges(cover).map { .integer($0) }
            if let creatorCountry { arguments.append(.text(creatorCountry)) }
            let sql = SQLiteConnection.numberedPlaceholders(HubActivityQuery.totals(byCountry: creatorCountry != nil))
            let totals =
                try connection.all(sql, arguments: arguments) { row in
                    (row.int64(0), row.int64(1), row.int64(2), row.double(3))
                }.first ?? (0, 0, 0, 0)
            let published = try connection.one(
                """
                SELECT as_of_date, followers, sales_cny, sales_usd, description, source
                FROM hub_published_figure WHERE hub_id = ? ORDER BY as_of_date DESC LIMIT 1
                """, hub.id
            ) { row in
                HubPublishedFigures(
                    asOfDate: row.text(0), followers: UInt64(row.int64(1)), salesCny: row.double(2),
                    salesUsd: row.double(3), description: row.text(4), source: row.text(5))
            }
            // Over all time, the top creators are the first rows of an index.
            let creators =
                topCreators > 0 && allTime
                ? try Self.topCreatorsOfAllTime(connection, hubID: hub.id, limit: topCreators, country: creatorCountry)
                : []
            return HubActivity(
                hub: hub.name, sessions: UInt64(totals.0), syntheticSessions: UInt64(totals.1),
                newFollowers: UInt64(totals.2), salesCNY: totals.3, topCreators: creators, published: published)
        }
        if topCreators > 0 && !allTime {
            // Over a period they are summed from its sessions: off the event loop.
            let hubName = activity.hub
            activity.topCreators = try await self.database.readOffloaded { connection in
                guard let hub = try Self.hub(named: hubName, connection) else { return [] }
                return try Self.topCreators(
                    connection, hubID: hub.id, period: period, limit: topCreators, country: creatorCountry)
            }
        }
        return activity
    }

    static func creator(_ row: SQLiteRow) -> CreatorTotal {
        CreatorTotal(
            creator: row.text(0), creatorCountry: row.text(1), sessions: UInt64(row.int64(2)),
            newFollowers: UInt64(row.int64(3)), salesCny: row.double(4), synthetic: row.bool(5))
    }

    static func topCreatorsOfAllTime(_ connection: SQLiteConnection, hubID: Int64, limit: Int, country: String?) throws
        -> [CreatorTotal]
    {
        let sql = """
            SELECT creator, creator_country, sessions, new_followers, sales_cny, synthetic FROM hub_creator_total
            WHERE hub_id = ?\(country == nil ? "" : " AND creator_country = ?")
            ORDER BY sales_cny DESC, creator, creator_country LIMIT ?
            """
        let arguments: [SQLiteValue] =
            [.integer(hubID)] + (country.map { [.text($0)] } ?? []) + [.integer(Int64(limit))]
        return try connection.all(sql, arguments: arguments, as: Self.creator)
    }

    static func topCreators(
        _ connection: SQLiteConnection, hubID: Int64, period: Range<Int64>, limit: Int, country: String?
    ) throws -> [CreatorTotal] {
        let sql = """
            SELECT creator, creator_country, COUNT(*), SUM(new_followers), TOTAL(sales_cny), MAX(synthetic)
            FROM live_stream_session WHERE hub_id = ? AND start_unix >= ? AND start_unix < ?
            \(country == nil ? "" : "AND creator_country = ?")
            GROUP BY creator, creator_country ORDER BY TOTAL(sales_cny) DESC, creator, creator_country LIMIT ?
            """
        let arguments: [SQLiteValue] =
            [.integer(hubID), .integer(period.lowerBound), .integer(period.upperBound)]
            + (country.map { [.text($0)] } ?? []) + [.integer(Int64(limit))]
        return try connection.all(sql, arguments: arguments, as: Self.creator)
    }

    /// The hub with this name or short name (case-insensitive by the columns' NOCASE).
    static func hub(named name: String, _ connection: SQLiteConnection) throws -> TradeHub? {
        try connection.one("SELECT id, name FROM hub WHERE name = ? OR short_name = ?", name, name) { row in
            TradeHub(id: row.int64(0), name: row.text(1))
        }
    }

    static func hubNames(_ connection: SQLiteConnection) throws -> [String] {
        try connection.all("SELECT name || ' (' || short_name || ')' FROM hub ORDER BY name") { $0.text(0) }
    }
}

/// ``TradeTransaction`` on the SQLite writer's connection.
struct SQLiteTradeTransaction: TradeTransaction, IdempotencyLedgerForwarding {
    let connection: SQLiteConnection

    /// The ledger's primitives are the connection's (``IdempotencyLedgerForwarding``).
    var ledger: SQLiteConnection { self.connection }

    nonisolated(nonsending) func insertFlow(_ flow: TradeFlow, totals: [FlowTotalChange]) async throws -> Int64 {
        try self.insert(flow)
        let id = self.connection.lastInsertRowID
        try self.add(totals)
        return id
    }

    nonisolated(nonsending) func insertFlows(_ flows: [TradeFlow], totals: [FlowTotalChange]) async throws {
        for flow in flows { try self.insert(flow) }
        try self.add(totals)
    }

    private func insert(_ flow: TradeFlow) throws {
        try self.connection.execute(
            """
            INSERT INTO trade_flow
                (year, month, country, direction, category, value_usd, source, synthetic, recorded_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            Int64(flow.year), Int64(flow.month), flow.country, Int64(flow.direction.rawValue), flow.category,
            flow.valueUsd, flow.source, flow.synthetic, flow.recordedAtUnixSeconds)
    }

    private func add(_ totals: [FlowTotalChange]) throws {
        for total in totals {
            try self.connection.execute(
                SQLiteConnection.numberedPlaceholders(TradeTotalsSQL.addToFlowTotal), total.year, total.country,
                total.direction,
                total.category, total.synthetic, total.valueUSD, total.flowCount)
        }
    }

    nonisolated(nonsending) func hub(named name: String) async throws -> TradeHub? {
        try SQLiteTradeStore.hub(named: name, self.connection)
    }

    nonisolated(nonsending) func hubNames() async throws -> [String] {
        try SQLiteTradeStore.hubNames(self.connection)
    }

    nonisolated(nonsending) func insertSession(
        _ session: LiveStreamSession, recordedAt: Int64, totals: HubTotals
    ) async throws -> Int64 {
        try self.insert(session, hubID: totals.hubID, recordedAt: recordedAt)
        let id = self.connection.lastInsertRowID
        try self.add(totals)
        return id
    }

    nonisolated(nonsending) func insertSessions(
        _ sessions: [LiveStreamSession], recordedAt: Int64, totals: HubTotals
    ) async throws {
        for session in sessions { try self.insert(session, hubID: totals.hubID, recordedAt: recordedAt) }
        try self.add(totals)
    }

    private func insert(_ session: LiveStreamSession, hubID: Int64, recordedAt: Int64) throws {
        try self.connection.execute(
            """
            INSERT INTO live_stream_session (hub_id, creator, creator_country, start_unix,
                duration_minutes, new_followers, sales_cny, synthetic, recorded_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            hubID, session.creator, session.creatorCountry, session.startUnixSeconds, Int64(session.durationMinutes),
            Int64(session.newFollowers), session.salesCny, session.synthetic, recordedAt)
    }

    private func add(_ totals: HubTotals) throws {
        for period in totals.periods {
            try self.connection.execute(
                SQLiteConnection.numberedPlaceholders(TradeTotalsSQL.addToHubSessionTotal), totals.hubID, period.span,
                period.start,
                period.creatorCountry, period.sessions, period.syntheticSessions, period.followers, period.salesCNY)
        }
        for creator in totals.creators {
            try self.connection.execute(
                SQLiteConnection.numberedPlaceholders(TradeTotalsSQL.addToHubCreatorTotal), totals.hubID,
                creator.creator,
                creator.creatorCountry, creator.sessions, creator.followers, creator.salesCNY, creator.synthetic)
        }
    }
}
