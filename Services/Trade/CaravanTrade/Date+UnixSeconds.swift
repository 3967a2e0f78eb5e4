import Foundation

extension Date {
    /// Whole seconds since 1970, as stored in `recorded_at` columns.
    var unixSeconds: Int64 { Int64(self.timeIntervalSince1970.rounded(.down)) }
}
