import CaravanDomain
import CaravanTradeAPI

/// How a hub's statistics for a period are read: whole months and whole
/// days from the maintained totals (`hub_session_total`), and only the
/// partial days at the ends from the sessions themselves. The cost depends
/// on the length of the period, not on how many sessions are stored.
///
/// Every second of the period falls in exactly one of the five parts;
/// empty parts are empty ranges.
public struct HubPeriodCover: Sendable, Equatable {
    /// Sessions starting in these, read one by one: the partial day at each end.
    public var headSessions: Range<Int64>
    public var tailSessions: Range<Int64>
    /// Day totals starting in these: the whole days outside whole months.
    public var headDays: Range<Int64>
    public var tailDays: Range<Int64>
    /// Month totals starting in this.
    public var months: Range<Int64>

    /// An open upper bound reads up to 10000-01-01, past any session a
    /// caller can record (they start at most a day from now).
    public static let latest = UTCCalendar.startOfYear(10_000)

    public init(period: Range<Int64>) {
        let from = max(0, period.lowerBound)
        let to = max(from, min(period.upperBound, Self.latest))
        let empty = from..<from
        (self.headSessions, self.tailSessions, self.headDays, self.tailDays, self.months) =
            (empty, empty, empty, empty, empty)
        let firstDay =
            UTCCalendar.startOfDay(from) == from ? from : UTCCalendar.startOfDay(from) + UTCCalendar.secondsPerDay
        let lastDayEnd = UTCCalendar.startOfDay(to)
        guard firstDay < lastDayEnd else {
            self.headSessions = from..<to
            return
        }
        self.headSessions = from..<firstDay
        self.tailSessions = lastDayEnd..<to
        let firstMonth =
            UTCCalendar.startOfMonth(firstDay) == firstDay ? firstDay : UTCCalendar.startOfNextMonth(firstDay)
        let lastMonthEnd = UTCCalendar.startOfMonth(lastDayEnd)
        guard firstMonth < lastMonthEnd else {
            self.headDays = firstDay..<lastDayEnd
            return
        }
        self.headDays = firstDay..<firstMonth
        self.months = firstMonth..<lastMonthEnd
        self.tailDays = lastMonthEnd..<lastDayEnd
    }
}
