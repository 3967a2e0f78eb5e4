/// Parses durations such as `250ms`, `5s`, `1.5s`, `2m`, `100us`.
public func parseDuration(_ text: String) -> Duration? {
    // Nanoseconds per unit, each exact in a Double, so that a whole number
    // of any unit is exactly that many nanoseconds (to 2^53). Scaling to
    // seconds and back (1e-9 × 1e9) read 4044444000000000ns as one
    // nanosecond more.
    let units: [(String, Double)] = [
        ("ms", 1e6), ("us", 1e3), ("µs", 1e3), ("ns", 1), ("s", 1e9), ("m", 60e9), ("h", 3600e9),
    ]
    var number = Substring(text)
    var nanosecondsPerUnit = 1e9
    if let (suffix, unit) = units.first(where: { text.hasSuffix($0.0) }) {
        number = number.dropLast(suffix.count)
        nanosecondsPerUnit = unit
    }
    // Past Int64's nanoseconds (292 years) is not a duration: `Int64(_:)` would trap.
    guard let value = Double(number), value >= 0, value.isFinite, value * nanosecondsPerUnit < 9.2e18 else {
        return nil
    }
    return .nanoseconds(Int64((value * nanosecondsPerUnit).rounded()))
}
