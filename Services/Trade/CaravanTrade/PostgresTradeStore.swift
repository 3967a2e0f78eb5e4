import CaravanCore
import CaravanDomain
import CaravanPostgres
import CaravanTradeAPI
import Foundation
import Logging
import PostgresNIO

/// The trade store on PostgreSQL (`--database postgres://…`): the same
/// answers as ``SQLiteTradeStore`` from the schema of
/// ``TradePostgresMigrations``, safe with several replicas on one database.
///
/// Writes run in one READ COMMITTED transaction each; the maintained
/// totals are added to by upserts, atomic however many replicas write one
/// group. Reads are as few statements as their answer allows, each one
/// snapshot: a summary is one statement, a hub's totals one more after the
/// hub's row. The hot statements are prepared once per connection.
public struct PostgresTradeStore: TradeStore {
    public let pool: PostgresPool

    /// Wraps a database the ``TradePostgresMigrations`` have been applied to.
    public init(_ pool: PostgresPool) {
        self.pool = pool
    }

    public func write<T: Sendable>(
        _ body: nonisolated(nonsending) @escaping @Sendable (any TradeTransaction) async throws -> T
    ) async throws -> T {
        try await self.pool.transaction { connection, logger in
            try await body(PostgresTradeTransaction(base: PostgresTransaction(connection: connection, logger: logger)))
        }
    }

    public func refreshStatistics() async throws {
        // The totals, updated once per batch, also shed their old row
        // versions (a summary would otherwise step over them until autovacuum).
        try await self.pool.read { connection, logger in
            try await connection.query("ANALYZE trade_flow", logger: logger)
            try await connection.query("VACUUM (ANALYZE) trade_flow_total", logger: logger)
        }
    }

    // MARK: Flows

    enum FlowByID: PostgresStatementText {
        static let sql = "SELECT \(TradeFlow.storedColumns) FROM trade_flow WHERE id = $1"
    }

    public func flow(id: Int64) async throws -> TradeFlow? {
        try await self.pool.read { connection, logger in
            try await connection.prepared(FlowByID.self, id, logger: logger).first.map(Self.flow)
        }
    }

    public func flows(matching query: FlowQuery, after cursor: FlowCursor?, limit: Int) async throws -> [TradeFlow] {
        let page = FlowPageQuery(query, after: cursor, limit: limit) { "$\($0)" }
        return try await self.pool.read { connection, logger in
            try await connection.query(
                PostgresQuery(unsafeSQL: page.sql, binds: Self.binds(page.arguments)), logger: logger
            )
            .collect().map(Self.flow)
        }
    }

    static func flow(_ row: PostgresRow) throws -> TradeFlow {
        TradeFlow.stored(try row.decode((Int64, Int64, Int64, String, Int64, String, Double, String, Bool, Int64).self))
    }

    static func binds(_ arguments: [FlowPageQuery.Argument]) -> PostgresBindings {
        var binds = PostgresBindings(capacity: arguments.count)
        for argument in arguments {
            switch argument {
            case .integer(let value): binds.append(value)
            case .text(let value): binds.append(value)
            }
        }
        return binds
    }

    enum YearTotals: PostgresStatementText {
        // In key order, as SQLite's primary-key range reads them, so the sums
        // of a summary are added up in the same order every time.
        static let sql = """
            SELECT \(FlowTotal.storedColumns) FROM trade_flow_total WHERE year = $1 AND flow_count > 0
            ORDER BY country, direction, category, synthetic
            """
    }

    enum CountryYearTotals: PostgresStatementText {
        static let sql = """
            SELECT \(FlowTotal.storedColumns) FROM trade_flow_total WHERE year = $1 AND country = $2 AND flow_count > 0
            ORDER BY country, direction, category, synthetic
            """
    }

    public func flowTotals(year: Int, country: String?) async throws -> [FlowTotal] {
        try await self.pool.read { connection, logger in
            let rows =
                if let country {
                    try await connection.prepared(CountryYearTotals.self, Int64(year), country, logger: logger)
                } else {
                    try await connection.prepared(YearTotals.self, Int64(year), logger: logger)
                }
            return try rows.map { FlowTotal.stored(try $0.decode((String, Int64, String, Bool, Double, Int64).self)) }
        }
    }

    /// A summary's figures in one statement, hence one snapshot: the year
    /// before, the published figure and the milestone on every row, beside
    /// the year's totals (one row of NULL totals when there are none).
    static func summarySQL(byCountry: Bool) -> String {
        let country = byCountry ? "$2" : "''"
        let inCountry = byCountry ? " AND country = $2" : ""
        return """
            SELECT previous.value_usd, previous.flow_count,
                   published.year, published.country, published.value_usd, published.description, published.source,
                   milestone.target_usd, milestone.description, milestone.source,
                   total.country, total.direction, total.category, total.synthetic, total.value_usd, total.flow_count
            FROM (SELECT COALESCE(SUM(value_usd), 0)::DOUBLE PRECISION AS value_usd,
                         COALESCE(SUM(flow_count), 0)::BIGINT AS flow_count
                  FROM trade_flow_total WHERE year = $1 - 1\(inCountry)) AS previous
            CROSS JOIN (SELECT target_usd, description, source FROM trade_milestone
                        ORDER BY name COLLATE "C" LIMIT 1) AS milestone
            LEFT JOIN published_figure AS published ON published.year = $1 AND published.country = \(country)
            LEFT JOIN (SELECT * FROM trade_flow_total WHERE year = $1 AND flow_count > 0\(inCountry)) AS total ON TRUE
            ORDER BY total.country, total.direction, total.category, total.synthetic
            """
    }

    enum Summary: PostgresStatementText { static let sql = PostgresTradeStore.summarySQL(byCountry: false) }
    enum CountrySummary: PostgresStatementText { static let sql = PostgresTradeStore.summarySQL(byCountry: true) }

    public func summaryFigures(year: Int, country: String?) async throws -> SummaryFigures {
        let rows = try await self.pool.read { connection, logger in
            if let country {
                return try await connection.prepared(CountrySummary.self, Int64(year), country, logger: logger)
            }
            return try await connection.prepared(Summary.self, Int64(year), logger: logger)
        }
        guard let first = rows.first?.makeRandomAccess() else {
            // The seed always inserts a milestone; a database without it was tampered with.
            throw RPCError(code: .internal, message: "Storage failed: trade_milestone has no row.")
        }
        var published: PublishedFigure?
        if let year = try first[2].decode(Int64?.self) {
            published = PublishedFigure(
                year: UInt32(year), country: try first[3].decode(String.self),
                valueUsd: try first[4].decode(Double.self),
                description: try first[5].decode(String.self), source: try first[6].decode(String.self))
        }
        var totals: [FlowTotal] = []
        for row in rows {
            let cells = row.makeRandomAccess()
            guard let totalCountry = try cells[10].decode(String?.self) else { continue }
            totals.append(
                FlowTotal.stored(
                    (
                        totalCountry, try cells[11].decode(Int64.self), try cells[12].decode(String.self),
                        try cells[13].decode(Bool.self), try cells[14].decode(Double.self),
                        try cells[15].decode(Int64.self)
                    )))
        }
        return SummaryFigures(
            totals: totals, previousYearTotalUSD: try first[0].decode(Double.self),
            previousYearFlowCount: try first[1].decode(Int64.self), published: published,
            milestone: TradeMilestone(
                targetUSD: try first[7].decode(Double.self), description: try first[8].decode(String.self),
                source: try first[9].decode(String.self)))
    }

    enum LatestRate: PostgresStatementText {
        // "C": SQLite compares text bytewise, whatever the database's locale.
        static let sql = """
            SELECT base_currency, quote_currency, rate, source, as_of_date FROM exchange_rate
            WHERE base_currency = $1 AND quote_currency = $2 ORDER BY as_of_date COLLATE "C" DESC LIMIT 1
            """
    }

    public func exchangeRate(base: String, quote: String) async throws -> ExchangeRate? {
        try await self.pool.read { connection, logger in
            try await connection.prepared(LatestRate.self, base, quote, logger: logger).first.map { row in
                let (base, quote, rate, source, asOf) = try row.decode((String, String, Double, String, String).self)
                return ExchangeRate(
                    baseCurrency: base, quoteCurrency: quote, rate: rate, source: source, asOfDate: asOf)
            }
        }
    }

    // MARK: Energy cooperation

    enum EnergyProjects: PostgresStatementText {
        static let sql = EnergyProject.storedQuery(byCountry: false, collate: #" COLLATE "C""#)
    }
    enum CountryEnergyProjects: PostgresStatementText {
        static let sql = EnergyProject.storedQuery(byCountry: true, collate: #" COLLATE "C""#)
    }

    public func energyProjects(country: String?) async throws -> [EnergyProject] {
        try await self.pool.read { connection, logger in
            let rows: [PostgresRow]
            if let country {
                rows = try await connection.prepared(CountryEnergyProjects.self, country, logger: logger)
            } else {
                rows = try await connection.prepared(EnergyProjects.self, logger: logger)
            }
            return try rows.map { row in
                EnergyProject.stored(
                    try row.decode((String, String, String, Int64, Int64, Double?, String, String, String, Bool).self))
            }
        }
    }

    // MARK: The hub

    enum HubWithFigures: PostgresStatementText {
        static let sql = """
            SELECT hub.id, hub.name, figure.as_of_date, figure.followers, figure.sales_cny, figure.sales_usd,
                   figure.description, figure.source
            FROM hub LEFT JOIN LATERAL (
                SELECT * FROM hub_published_figure WHERE hub_id = hub.id ORDER BY as_of_date COLLATE "C" DESC LIMIT 1
            ) AS figure ON TRUE
            WHERE hub.name = $1 OR hub.short_name = $1 ORDER BY hub.id LIMIT 1
            """
    }

    enum HubTotals: PostgresStatementText { static let sql = HubActivityQuery.totals(byCountry: false) }
    enum CountryHubTotals: PostgresStatementText { static let sql = HubActivityQuery.totals(byCountry: true) }

    public func hubActivity(hub name: String, period: Range<Int64>, topCreators: Int, creatorCountry: String?)
        async throws -> HubActivity
    {
        let cover = HubPeriodCover(period: period)
        let allTime = period.lowerBound <= 0 && period.upperBound >= HubPeriodCover.latest
        let work: @Sendable (PostgresConnection, Logger) async throws -> HubActivity = { connection, logger in
            guard let hubRow = try await connection.prepared(HubWithFigures.self, name, logger: logger).first else {
                throw TradeError.unknownHub(name, known: try await Self.hubNames(connection, logger))
            }
            let cells = hubRow.makeRandomAccess()
            let hub = TradeHub(id: try cells[0].decode(Int64.self), name: try cells[1].decode(String.self))
            var published: HubPublishedFigures?
            if let asOf = try cells[2].decode(String?.self) {
                published = HubPublishedFigures(
                    asOfDate: asOf, followers: UInt64(try cells[3].decode(Int64.self)),
                    salesCny: try cells[4].decode(Double.self), salesUsd: try cells[5].decode(Double.self),
                    description: try cells[6].decode(String.self), source: try cells[7].decode(String.self))
            }
            let r = HubActivityQuery.ranges(cover)
            let totalsRows =
                if let creatorCountry {
                    try await connection.prepared(
                        CountryHubTotals.self, hub.id, r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9],
                        creatorCountry, logger: logger)
                } else {
                    try await connection.prepared(
                        HubTotals.self, hub.id, r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9],
                        logger: logger)
                }
            let (sessions, synthetic, followers, sales): (Int64, Int64, Int64, Double) =
                try totalsRows.first.map { try $0.decode((Int64, Int64, Int64, Double).self) } ?? (0, 0, 0, 0)
            var activity = HubActivity(
                hub: hub.name, sessions: UInt64(sessions), syntheticSessions: UInt64(synthetic),
                newFollowers: UInt64(followers), salesCNY: sales, topCreators: [], published: published)
            if topCreators > 0 {
                activity.topCreators = try await Self.topCreators(
                    connection, logger, hubID: hub.id, period: allTime ? nil : period, limit: topCreators,
                    country: creatorCountry)
            }
            return activity
        }
        // With creators, one snapshot: they and the totals describe the same
        // sessions. Without, the totals are one statement (one snapshot) and
        // the hub's row is seed data.
        return topCreators > 0 ? try await self.pool.snapshot(work) : try await self.pool.read(work)
    }

    /// The largest creators by sales: over all time the first rows of the
    /// maintained per-creator index, over a period summed from its sessions.
    static func topCreators(
        _ connection: PostgresConnection, _ logger: Logger, hubID: Int64, period: Range<Int64>?, limit: Int,
        country: String?
    ) async throws -> [CreatorTotal] {
        var statement: PostgresStatement
        if let period {
            statement = PostgresStatement(
                """
                SELECT creator, creator_country, COUNT(*), SUM(new_followers)::BIGINT, SUM(sales_cny), bool_or(synthetic)
                FROM live_stream_session
                """)
            statement.append(" WHERE hub_id = ?", hubID)
            statement.append(" AND start_unix >= ?", period.lowerBound)
            statement.append(" AND start_unix < ?", period.upperBound)
            if let country { statement.append(" AND creator_country = ?", country) }
            // Ties in sales by name, bytewise ("C") as SQLite orders text.
            statement.append(
                " GROUP BY creator, creator_country ORDER BY SUM(sales_cny) DESC, creator COLLATE \"C\", creator_country COLLATE \"C\""
            )
        } else {
            statement = PostgresStatement(
                "SELECT creator, creator_country, sessions, new_followers, sales_cny, synthetic FROM hub_creator_total")
            statement.append(" WHERE hub_id = ?", hubID)
            if let country { statement.append(" AND creator_country = ?", country) }
            statement.append(" ORDER BY sales_cny DESC, creator COLLATE \"C\", creator_country COLLATE \"C\"")
        }
        statement.append(" LIMIT ?", Int64(limit))
        return try await connection.query(statement.query, logger: logger).collect().map { row in
            let (creator, country, sessions, followers, sales, synthetic) = try row.decode(
                (String, String, Int64, Int64, Double, Bool).self)
            return CreatorTotal(
                creator: creator, creatorCountry: country, sessions: UInt64(sessions), newFollowers: UInt64(followers),
                salesCny: sales, synthetic: synthetic)
        }
    }

    enum HubByName: PostgresStatementText {
        static let sql = "SELECT id, name FROM hub WHERE name = $1 OR short_name = $1 ORDER BY id LIMIT 1"
    }

    enum HubNames: PostgresStatementText {
        // Ordered as SQLite's NOCASE orders: ASCII letters folded, then bytewise.
        static let sql = "SELECT name || ' (' || short_name || ')' FROM hub ORDER BY lower(name COLLATE \"C\")"
    }

    static func hubNames(_ connection: PostgresConnection, _ logger: Logger) async throws -> [String] {
        try await connection.prepared(HubNames.self, logger: logger).map { try $0.decode(String.self) }
    }
}

/// ``TradeTransaction`` on one PostgreSQL transaction.
struct PostgresTradeTransaction: TradeTransaction, IdempotencyLedgerForwarding {
    let base: PostgresTransaction

    /// The ledger's primitives are the transaction's (``IdempotencyLedgerForwarding``).
    var ledger: PostgresTransaction { self.base }

    enum InsertFlow: PostgresStatementText {
        static let sql = """
            INSERT INTO trade_flow (year, month, country, direction, category, value_usd, source, synthetic, recorded_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id
            """
    }

    enum AddToFlowTotal: PostgresStatementText { static let sql = TradeTotalsSQL.addToFlowTotal }

    nonisolated(nonsending) func insertFlow(_ flow: TradeFlow, totals: [FlowTotalChange]) async throws -> Int64 {
        guard
            let id = try await self.base.rows(
                InsertFlow.self, Int64(flow.year), Int64(flow.month), flow.country, Int64(flow.direction.rawValue),
                flow.category, flow.valueUsd, flow.source, flow.synthetic, flow.recordedAtUnixSeconds
            ).first?.decode(Int64.self)
        else {
            throw RPCError(code: .internal, message: "The insert returned no flow.")
        }
        try await self.add(totals)
        return id
    }

    private nonisolated(nonsending) func add(_ totals: [FlowTotalChange]) async throws {
        for total in totals {
            _ = try await self.base.rows(
                AddToFlowTotal.self, total.year, total.country, total.direction, total.category, total.synthetic,
                total.valueUSD, total.flowCount)
        }
    }

    enum InsertFlows: PostgresStatementText {
        // One array per column, unnested in order (ids ascend with it): one
        // statement however many rows.
        static let sql = """
            INSERT INTO trade_flow (year, month, country, direction, category, value_usd, source, synthetic, recorded_at)
            SELECT year, month, country, direction, category, value_usd, source, synthetic, recorded_at
            FROM unnest($1::BIGINT[], $2::BIGINT[], $3::TEXT[], $4::BIGINT[], $5::TEXT[], $6::DOUBLE PRECISION[],
                        $7::TEXT[], $8::BOOLEAN[], $9::BIGINT[])
                WITH ORDINALITY AS batch
                (year, month, country, direction, category, value_usd, source, synthetic, recorded_at, position)
            ORDER BY position
            """
    }

    nonisolated(nonsending) func insertFlows(_ flows: [TradeFlow], totals: [FlowTotalChange]) async throws {
        guard !flows.isEmpty else { return }
        _ = try await self.base.rows(
            InsertFlows.self, flows.map { Int64($0.year) }, flows.map { Int64($0.month) }, flows.map(\.country),
            flows.map { Int64($0.direction.rawValue) }, flows.map(\.category), flows.map(\.valueUsd),
            flows.map(\.source),
            flows.map(\.synthetic), flows.map(\.recordedAtUnixSeconds))
        try await self.add(totals)
    }

    nonisolated(nonsending) func hub(named name: String) async throws -> TradeHub? {
        try await self.base.rows(PostgresTradeStore.HubByName.self, name).first.map { row in
            let (id, name) = try row.decode((Int64, String).self)
            return TradeHub(id: id, name: name)
        }
    }

    nonisolated(nonsending) func hubNames() async throws -> [String] {
        try await PostgresTradeStore.hubNames(self.base.connection, self.base.logger)
    }

    /// Adds to a hub's period totals from arrays, one row per element:
    /// $1 the hub, the arrays from `$first` (span, start, country, sessions,
    /// synthetic sessions, followers, sales).
    static func upsertPeriods(arraysFrom first: Int) -> String {
        let a = (0..<7).map { "$\(first + $0)" }
        return """
            INSERT INTO hub_session_total AS total
                (hub_id, span, period_start, creator_country, sessions, synthetic_sessions, new_followers, sales_cny)
            SELECT $1, * FROM unnest(\(a[0])::BIGINT[], \(a[1])::BIGINT[], \(a[2])::TEXT[], \(a[3])::BIGINT[],
                                     \(a[4])::BIGINT[], \(a[5])::BIGINT[], \(a[6])::DOUBLE PRECISION[])
            ON CONFLICT (hub_id, span, period_start, creator_country) DO UPDATE SET
                sessions = total.sessions + excluded.sessions,
                synthetic_sessions = total.synthetic_sessions + excluded.synthetic_sessions,
                new_followers = total.new_followers + excluded.new_followers,
                sales_cny = total.sales_cny + excluded.sales_cny
            """
    }

    /// Adds to a hub's creator totals from arrays: $1 the hub, the arrays
    /// from `$first` (creator, country, sessions, followers, sales, synthetic).
    static func upsertCreators(arraysFrom first: Int) -> String {
        let a = (0..<6).map { "$\(first + $0)" }
        return """
            INSERT INTO hub_creator_total AS total
                (hub_id, creator, creator_country, sessions, new_followers, sales_cny, synthetic)
            SELECT $1, * FROM unnest(\(a[0])::TEXT[], \(a[1])::TEXT[], \(a[2])::BIGINT[], \(a[3])::BIGINT[],
                                     \(a[4])::DOUBLE PRECISION[], \(a[5])::BOOLEAN[])
            ON CONFLICT (hub_id, creator, creator_country) DO UPDATE SET
                sessions = total.sessions + excluded.sessions,
                new_followers = total.new_followers + excluded.new_followers,
                sales_cny = total.sales_cny + excluded.sales_cny, synthetic = total.synthetic OR excluded.synthetic
            """
    }

    enum InsertSession: PostgresStatementText {
        // The session and what it adds to the totals in one statement: one round trip.
        static let sql = """
            WITH session AS (
                INSERT INTO live_stream_session (hub_id, creator, creator_country, start_unix,
                    duration_minutes, new_followers, sales_cny, synthetic, recorded_at)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id
            ), periods AS (
                \(PostgresTradeTransaction.upsertPeriods(arraysFrom: 10))
            ), creators AS (
                \(PostgresTradeTransaction.upsertCreators(arraysFrom: 17))
            )
            SELECT id FROM session
            """
    }

    enum InsertSessions: PostgresStatementText {
        static let sql = """
            INSERT INTO live_stream_session (hub_id, creator, creator_country, start_unix,
                duration_minutes, new_followers, sales_cny, synthetic, recorded_at)
            SELECT $1, creator, country, start_unix, minutes, followers, sales, synthetic, $2
            FROM unnest($3::TEXT[], $4::TEXT[], $5::BIGINT[], $6::BIGINT[], $7::BIGINT[], $8::DOUBLE PRECISION[],
                        $9::BOOLEAN[]) WITH ORDINALITY
                AS batch (creator, country, start_unix, minutes, followers, sales, synthetic, position)
            ORDER BY position
            """
    }

    enum UpsertPeriods: PostgresStatementText { static let sql = PostgresTradeTransaction.upsertPeriods(arraysFrom: 2) }
    enum UpsertCreators: PostgresStatementText {
        static let sql = PostgresTradeTransaction.upsertCreators(arraysFrom: 2)
    }

    nonisolated(nonsending) func insertSession(
        _ session: LiveStreamSession, recordedAt: Int64, totals: HubTotals
    ) async throws -> Int64 {
        let (p, c) = (totals.periods, totals.creators)
        guard
            let id = try await self.base.rows(
                InsertSession.self, totals.hubID, session.creator, session.creatorCountry, session.startUnixSeconds,
                Int64(session.durationMinutes), Int64(session.newFollowers), session.salesCny, session.synthetic,
                recordedAt, p.map(\.span), p.map(\.start), p.map(\.creatorCountry), p.map(\.sessions),
                p.map(\.syntheticSessions), p.map(\.followers), p.map(\.salesCNY), c.map(\.creator),
                c.map(\.creatorCountry), c.map(\.sessions), c.map(\.followers), c.map(\.salesCNY), c.map(\.synthetic)
            ).first?.decode(Int64.self)
        else {
            throw RPCError(code: .internal, message: "The insert returned no session.")
        }
        return id
    }

    nonisolated(nonsending) func insertSessions(
        _ sessions: [LiveStreamSession], recordedAt: Int64, totals: HubTotals
    ) async throws {
        guard !sessions.isEmpty else { return }
        _ = try await self.base.rows(
            InsertSessions.self, totals.hubID, recordedAt, sessions.map(\.creator), sessions.map(\.creatorCountry),
            sessions.map(\.startUnixSeconds), sessions.map { Int64($0.durationMinutes) },
            sessions.map { Int64($0.newFollowers) }, sessions.map(\.salesCny), sessions.map(\.synthetic))
        let (p, c) = (totals.periods, totals.creators)
        _ = try await self.base.rows(
            UpsertPeriods.self, totals.hubID, p.map(\.span), p.map(\.start), p.map(\.creatorCountry), p.map(\.sessions),
            p.map(\.syntheticSessions), p.map(\.followers), p.map(\.salesCNY))
        _ = try await self.base.rows(
            UpsertCreators.self, totals.hubID, c.map(\.creator), c.map(\.creatorCountry), c.map(\.sessions),
            c.map(\.followers), c.map(\.salesCNY), c.map(\.synthetic))
    }
}
