/// Calendar arithmetic in UTC on Unix seconds, without Foundation's
/// formatters (which are neither cheap nor obviously thread-safe): the
/// civil-date conversions of Howard Hinnant's `days_from_civil` and
/// `civil_from_days`, valid for every Gregorian date.
public enum UTCCalendar {
    public static let secondsPerDay: Int64 = 86_400

    /// The (year, month, day) of day `days` since 1970-01-01.
    public static func civil(days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// Days since 1970-01-01 of a civil date.
    public static func days(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// Whole days since 1970 of `seconds` (rounding down).
    public static func day(of seconds: Int64) -> Int64 {
        seconds >= 0 ? seconds / Self.secondsPerDay : (seconds - Self.secondsPerDay + 1) / Self.secondsPerDay
    }

    /// 00:00 UTC of the day holding `seconds`.
    public static func startOfDay(_ seconds: Int64) -> Int64 { Self.day(of: seconds) * Self.secondsPerDay }

    /// 00:00 UTC on the first of the month holding `seconds`.
    public static func startOfMonth(_ seconds: Int64) -> Int64 {
        let (year, month, _) = Self.civil(days: Self.day(of: seconds))
        return Self.days(year: year, month: month, day: 1) * Self.secondsPerDay
    }

    /// 00:00 UTC on the first of the month after the one holding `seconds`.
    public static func startOfNextMonth(_ seconds: Int64) -> Int64 {
        let (year, month, _) = Self.civil(days: Self.day(of: seconds))
        return Self.days(year: month == 12 ? year + 1 : year, month: month == 12 ? 1 : month + 1, day: 1)
            * Self.secondsPerDay
    }

    /// 1 January of `year`, 00:00 UTC.
    public static func startOfYear(_ year: Int64) -> Int64 {
        Self.days(year: year, month: 1, day: 1) * Self.secondsPerDay
    }

    /// `YYYY-MM-DD` of the UTC day holding `seconds`.
    public static func isoDate(_ seconds: Int64) -> String {
        let (year, month, day) = Self.civil(days: Self.day(of: seconds))
        func pad(_ value: Int64, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))"
    }
}
