/// Parses durations such as `250ms`, `5s`, `1.5s`, `2m`, `100us`.
public func parseDuration(_ text: String) -> Duration? {
    let units: [(String, Double)] = [("ms", 1e-3), ("us", 1e-6), ("µs", 1e-6), ("ns", 1e-9), ("s", 1), ("m", 60), ("h", 3600)]
    var number = Substring(text)
    var scale = 1.0
    if let (suffix, unit) = units.first(where: { text.hasSuffix($0.0) }) {
        number = number.dropLast(suffix.count)
        scale = unit
    }
    // Past Int64's nanoseconds (292 years) is not a duration: `Int64(_:)` would trap.
    guard let value = Double(number), value >= 0, value.isFinite, value * scale * 1e9 < 9.2e18 else { return nil }
    return .nanoseconds(Int64((value * scale * 1e9).rounded()))
}
