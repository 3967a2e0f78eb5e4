import CaravanDomain
import Foundation
import Testing

@Suite("UTC calendar arithmetic")
struct UTCCalendarTests {
    static let utc: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()

    @Test("Day, month and year starts agree with Foundation's calendar, leap years and 1970 included")
    func agreesWithFoundation() {
        var random = SplitMix64(seed: 17)
        let instants: [Int64] =
            [0, 86_399, 86_400, 951_782_400, 951_868_799, 1_709_251_199, 4_102_444_800]
            + (0..<2_000).map { _ in Int64(random.next() % 8_000_000_000) }
        for seconds in instants {
            let date = Date(timeIntervalSince1970: TimeInterval(seconds))
            let day = Self.utc.startOfDay(for: date)
            let month = Self.utc.date(from: Self.utc.dateComponents([.year, .month], from: date))!
            let nextMonth = Self.utc.date(byAdding: .month, value: 1, to: month)!
            #expect(UTCCalendar.startOfDay(seconds) == Int64(day.timeIntervalSince1970), "\(seconds)")
            #expect(UTCCalendar.startOfMonth(seconds) == Int64(month.timeIntervalSince1970), "\(seconds)")
            #expect(UTCCalendar.startOfNextMonth(seconds) == Int64(nextMonth.timeIntervalSince1970), "\(seconds)")
            let components = Self.utc.dateComponents([.year, .month, .day], from: date)
            let iso = String(format: "%04d-%02d-%02d", components.year!, components.month!, components.day!)
            #expect(UTCCalendar.isoDate(seconds) == iso)
        }
        #expect(UTCCalendar.startOfYear(2024) == 1_704_067_200)
        #expect(UTCCalendar.startOfYear(1970) == 0)
    }
}
