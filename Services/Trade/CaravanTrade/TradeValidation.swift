import CaravanCore
import CaravanDomain
import CaravanTradeAPI
import Foundation

/// Checks trade requests and normalises what they carry (trimmed text,
/// upper-case country codes). Every refusal is INVALID_ARGUMENT naming the
/// field, so callers know what to fix.
struct TradeValidation: Sendable {
    /// The last year a flow may be recorded for (the current year).
    var currentYear: Int
    /// Now, for checking session start times.
    var nowUnixSeconds: Int64

    /// Ten times the whole region's yearly trade: anything larger is a typo
    /// (or an attempt to overflow totals), not a flow.
    static let maxFlowUSD = 1e12
    static let maxTextBytes = 256
    /// Live-streaming sessions are recorded from 2010-01-01 on.
    static let firstSessionUnixSeconds: Int64 = 1_262_304_000
    static let maxSessionMinutes: UInt32 = 24 * 60
    static let maxSessionFollowers: UInt64 = 1_000_000_000
    static let maxSessionCNY = 1e11

    // MARK: Flows

    /// A flow to record, normalised; id and recorded_at are cleared.
    func flow(_ flow: TradeFlow?) throws(RPCError) -> TradeFlow {
        guard let flow else { throw RPCError.invalidArgument(field: "flow", "is required") }
        var clean = TradeFlow()
        clean.year = UInt32(try self.year(flow.year, field: "flow.year"))
        guard flow.month <= 12 else {
            throw RPCError.invalidArgument(
                field: "flow.month", "must be 1 to 12, or 0 for a whole year; got \(flow.month)")
        }
        clean.month = flow.month
        clean.country = try Self.partner(flow.country, field: "flow.country")
        guard flow.direction == .directionExport || flow.direction == .directionImport else {
            throw RPCError.invalidArgument(field: "flow.direction", "must be DIRECTION_EXPORT or DIRECTION_IMPORT")
        }
        clean.direction = flow.direction
        clean.category = try Self.text(flow.category, field: "flow.category")
        guard flow.valueUsd.isFinite else {
            throw RPCError.invalidArgument(field: "flow.value_usd", "must be a finite number; got \(flow.valueUsd)")
        }
        guard flow.valueUsd >= 0 else {
            throw RPCError.invalidArgument(field: "flow.value_usd", "must not be negative; got \(flow.valueUsd)")
        }
        guard flow.valueUsd <= Self.maxFlowUSD else {
            throw RPCError.invalidArgument(
                field: "flow.value_usd", "must be at most \(Self.maxFlowUSD); got \(flow.valueUsd)")
        }
        clean.valueUsd = flow.valueUsd
        clean.source = try Self.text(flow.source, field: "flow.source")
        clean.synthetic = flow.synthetic
        return clean
    }

    /// A year the partnership has figures for (``PartnershipYears``).
    func year(_ year: UInt32, field: String) throws(RPCError) -> Int {
        try PartnershipYears.validated(year, field: field, currentYear: self.currentYear)
    }

    /// A list/stream filter; empty fields match everything.
    func query(_ filter: TradeFlowFilter?) throws(RPCError) -> FlowQuery {
        guard let filter else { return FlowQuery() }
        var query = FlowQuery()
        if filter.yearFrom != 0 { query.yearFrom = try self.year(filter.yearFrom, field: "filter.year_from") }
        if filter.yearTo != 0 { query.yearTo = try self.year(filter.yearTo, field: "filter.year_to") }
        if let from = query.yearFrom, let to = query.yearTo, from > to {
            throw RPCError.invalidArgument(
                field: "filter.year_to", "must not be before filter.year_from (\(from)); got \(to)")
        }
        if !filter.country.isEmpty { query.country = try Self.partner(filter.country, field: "filter.country") }
        switch filter.direction {
        case .directionUnspecified: break
        case .directionExport, .directionImport: query.direction = filter.direction
        default:
            throw RPCError.invalidArgument(field: "filter.direction", "unknown direction \(filter.direction.rawValue)")
        }
        let category = try Self.text(filter.category, field: "filter.category", required: false)
        if !category.isEmpty { query.category = category }
        return query
    }

    /// An optional partner filter ("" for all partners).
    func optionalPartner(_ country: String, field: String) throws(RPCError) -> String? {
        country.isEmpty ? nil : try Self.partner(country, field: field)
    }

    /// One of the five Central Asian states, as an upper-case ISO code.
    static func partner(_ country: String, field: String) throws(RPCError) -> String {
        guard !country.isEmpty else { throw RPCError.invalidArgument(field: field, "is required") }
        let code = try CountryCode.validated(country, field: field)
        guard CountryCode.centralAsia.contains(code) else {
            throw RPCError.invalidArgument(
                field: field,
                "\"\(code)\" is not one of the five Central Asian partners (\(CountryCode.centralAsia.joined(separator: ", ")))"
            )
        }
        return code
    }

    // MARK: Hub sessions

    /// A session to record, normalised; id is cleared.
    func session(_ session: LiveStreamSession?) throws(RPCError) -> LiveStreamSession {
        guard let session else { throw RPCError.invalidArgument(field: "session", "is required") }
        var clean = LiveStreamSession()
        clean.hub = try Self.text(session.hub, field: "session.hub")
        clean.creator = try Self.text(session.creator, field: "session.creator")
        guard !session.creatorCountry.isEmpty else {
            throw RPCError.invalidArgument(field: "session.creator_country", "is required")
        }
        clean.creatorCountry = try CountryCode.validated(session.creatorCountry, field: "session.creator_country")
        let latestStart = self.nowUnixSeconds + 24 * 3600
        guard (Self.firstSessionUnixSeconds...latestStart).contains(session.startUnixSeconds) else {
            throw RPCError.invalidArgument(
                field: "session.start_unix_seconds",
                "must be between 2010-01-01 and now; got \(session.startUnixSeconds)")
        }
        clean.startUnixSeconds = session.startUnixSeconds
        guard (1...Self.maxSessionMinutes).contains(session.durationMinutes) else {
            throw RPCError.invalidArgument(
                field: "session.duration_minutes",
                "must be 1 to \(Self.maxSessionMinutes); got \(session.durationMinutes)")
        }
        clean.durationMinutes = session.durationMinutes
        guard session.newFollowers <= Self.maxSessionFollowers else {
            throw RPCError.invalidArgument(
                field: "session.new_followers",
                "must be at most \(Self.maxSessionFollowers); got \(session.newFollowers)")
        }
        clean.newFollowers = session.newFollowers
        guard session.salesCny.isFinite, session.salesCny >= 0, session.salesCny <= Self.maxSessionCNY else {
            throw RPCError.invalidArgument(
                field: "session.sales_cny",
                "must be a finite amount from 0 to \(Self.maxSessionCNY); got \(session.salesCny)")
        }
        clean.salesCny = session.salesCny
        clean.synthetic = session.synthetic
        return clean
    }

    // MARK: Text

    /// Trimmed text; refuses empty (when required), over-long and NUL-bearing
    /// text (protobuf-c hands strings to C, where a NUL would cut them short).
    static func text(_ value: String, field: String, required: Bool = true) throws(RPCError) -> String {
        let trimmed = value.trimmingCharacters(in: .whitespacesAndNewlines)
        if required, trimmed.isEmpty { throw RPCError.invalidArgument(field: field, "must not be empty") }
        guard trimmed.utf8.count <= Self.maxTextBytes else {
            throw RPCError.invalidArgument(field: field, "must be at most \(Self.maxTextBytes) bytes")
        }
        guard !trimmed.utf8.contains(0) else {
            throw RPCError.invalidArgument(field: field, "must not contain NUL characters")
        }
        return trimmed
    }
}
