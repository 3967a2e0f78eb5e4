import CaravanCore
import CaravanDomain

/// ISO 8601 calendar dates (`YYYY-MM-DD`) without Foundation formatters
/// (which are neither cheap nor obviously thread-safe): validation and
/// today's date in UTC.
public enum CalendarDate {
    /// Whether `text` is a real date in `YYYY-MM-DD` form (years 1900...9999).
    public static func isValid(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count == 10, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-") else { return false }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for index in range {
                let byte = bytes[index]
                guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
            }
            return value
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
            (1900...9999).contains(year), (1...12).contains(month)
        else { return false }
        return (1...Self.daysIn(month: month, year: year)).contains(day)
    }

    /// Validates a request field; INVALID_ARGUMENT naming it otherwise.
    public static func validated(_ text: String, field: String) throws(RPCError) -> String {
        guard Self.isValid(text) else {
            throw RPCError.invalidArgument(field: field, "\"\(text)\" is not a date in YYYY-MM-DD form")
        }
        return text
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// The UTC date of `secondsSince1970`.
    public static func utc(secondsSince1970 seconds: Int64) -> String {
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let (year, month, day) = UTCCalendar.civil(days: days)
        func pad(_ value: Int64, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))"
    }
}
