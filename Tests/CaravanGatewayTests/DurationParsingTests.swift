import CaravanServiceKit
import Testing

@Suite("Durations as X-Caravan-Timeout and the options read them")
struct DurationParsingTests {
    // Found by HTTPDoorFuzzer: "4044444" (seconds) read back from its own
    // nanoseconds, 4044444000000000ns, as one nanosecond more, because the
    // number was scaled to seconds and back (1e-9 × 1e9).
    @Test(
        "A whole number of any unit is exactly that many nanoseconds",
        arguments: [
            ("4044444000000000ns", Int64(4_044_444_000_000_000)), ("4044444", 4_044_444_000_000_000),
            ("9007199254740992ns", 9_007_199_254_740_992), ("123456789123us", 123_456_789_123_000),
            ("1ns", 1), ("250ms", 250_000_000), ("2m", 120_000_000_000), ("1.5s", 1_500_000_000),
            ("1h", 3_600_000_000_000), ("0", 0),
        ])
    func exact(_ text: String, _ nanoseconds: Int64) {
        #expect(parseDuration(text) == .nanoseconds(nanoseconds))
    }

    @Test("Not a duration", arguments: ["", "s", "-1s", "nan", "inf", "1e400", "300y", "9.3e18ns"])
    func refused(_ text: String) {
        #expect(parseDuration(text) == nil)
    }
}
