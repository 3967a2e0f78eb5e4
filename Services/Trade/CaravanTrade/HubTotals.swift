import CaravanDomain
import CaravanTradeAPI

/// What sessions add to their hub's maintained totals: each day's and
/// each month's (per creator country, `hub_session_total`), and each
/// creator's over all time (`hub_creator_total`). One session's or a
/// generated batch's alike, summed per row, rows in key order (so two
/// writers lock the total rows in one order).
public struct HubTotals: Sendable, Equatable {
    /// One row of `hub_session_total`: a day (span 1) or a month (span 2).
    public struct Period: Sendable, Hashable {
        public var span: Int64
        public var start: Int64
        public var creatorCountry: String
        public var sessions: Int64 = 0
        public var syntheticSessions: Int64 = 0
        public var followers: Int64 = 0
        public var salesCNY: Double = 0
    }

    /// One row of `hub_creator_total`.
    public struct Creator: Sendable, Hashable {
        public var creator: String
        public var creatorCountry: String
        public var sessions: Int64 = 0
        public var followers: Int64 = 0
        public var salesCNY: Double = 0
        public var synthetic = false
    }

    public var hubID: Int64
    public var periods: [Period]
    public var creators: [Creator]

    public static let daySpan: Int64 = 1
    public static let monthSpan: Int64 = 2

    private struct PeriodKey: Hashable, Comparable {
        var span: Int64
        var start: Int64
        var country: String
        static func < (a: Self, b: Self) -> Bool { (a.span, a.start, a.country) < (b.span, b.start, b.country) }
    }

    private struct CreatorKey: Hashable, Comparable {
        var creator: String
        var country: String
        static func < (a: Self, b: Self) -> Bool { (a.creator, a.country) < (b.creator, b.country) }
    }

    public init(hubID: Int64, sessions: some Sequence<LiveStreamSession>) {
        var periods: [PeriodKey: Period] = [:]
        var creators: [CreatorKey: Creator] = [:]
        for session in sessions {
            let starts = [
                (Self.daySpan, UTCCalendar.startOfDay(session.startUnixSeconds)),
                (Self.monthSpan, UTCCalendar.startOfMonth(session.startUnixSeconds)),
            ]
            for (span, start) in starts {
                let key = PeriodKey(span: span, start: start, country: session.creatorCountry)
                var period = periods[key] ?? Period(span: span, start: start, creatorCountry: session.creatorCountry)
                period.sessions += 1
                period.syntheticSessions += session.synthetic ? 1 : 0
                period.followers += Int64(session.newFollowers)
                period.salesCNY += session.salesCny
                periods[key] = period
            }
            let key = CreatorKey(creator: session.creator, country: session.creatorCountry)
            var creator = creators[key] ?? Creator(creator: session.creator, creatorCountry: session.creatorCountry)
            creator.sessions += 1
            creator.followers += Int64(session.newFollowers)
            creator.salesCNY += session.salesCny
            creator.synthetic = creator.synthetic || session.synthetic
            creators[key] = creator
        }
        self.hubID = hubID
        self.periods = periods.sorted { $0.key < $1.key }.map(\.value)
        self.creators = creators.sorted { $0.key < $1.key }.map(\.value)
    }
}
