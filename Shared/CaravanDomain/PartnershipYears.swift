import CaravanCore
import Foundation

/// The years China–Central Asia figures can belong to: China established
/// relations with the five newly independent states in 1992, so nothing
/// predates it, and nothing is recorded for a year still to come.
public enum PartnershipYears {
    public static let first = 1992

    /// The current year in UTC.
    public static func current(now: Date = Date()) -> Int {
        Self.utc.component(.year, from: now)
    }

    /// `year` when it lies in 1992...the current year; INVALID_ARGUMENT
    /// naming `field` otherwise (0 is "is required").
    public static func validated(_ year: UInt32, field: String, now: Date = Date()) throws(RPCError) -> Int {
        try Self.validated(year, field: field, currentYear: Self.current(now: now))
    }

    /// As ``validated(_:field:now:)``, with the current year given.
    public static func validated(_ year: UInt32, field: String, currentYear: Int) throws(RPCError) -> Int {
        guard year != 0 else { throw RPCError.invalidArgument(field: field, "is required") }
        guard (Self.first...currentYear).contains(Int(year)) else {
            throw RPCError.invalidArgument(
                field: field, "must be between \(Self.first) and \(currentYear); got \(year)")
        }
        return Int(year)
    }

    private static let utc: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()
}
