/// Parses durations such as `250ms`, `5s`, `1.5s`, `2m`, `100us`.
public func parseDuration(_ text: String) -> Duration? {
    let units: [(String, Double)] = [("ms", 1e-3), ("us", 1e-6), ("µs", 1e-6), ("ns", 1e-9), ("s", 1), ("m", 60), ("h", 3600)]
    for (suffix, scale) in units where text.hasSuffix(suffix) {
        guard let value = Double(text.dropLast(suffix.count)), value >= 0, value.isFinite else { return nil }
        return .nanoseconds(Int64((value * scale * 1e9).rounded()))
    }
    guard let seconds = Double(text), seconds >= 0, seconds.isFinite else { return nil }
    return .nanoseconds(Int64((seconds * 1e9).rounded()))
}
