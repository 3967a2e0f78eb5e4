import CaravanCore
import CaravanServiceKit

/// When each call of an open-loop run is meant to start: at a constant
/// rate, or ramping linearly from one rate to another.
///
/// Latency is measured from these intended times (as wrk2 does), so a
/// server that stalls shows up as latency rather than as fewer requests
/// (coordinated omission).
public struct RateSchedule: Sendable, Equatable {
    /// Calls per second at the start.
    public var from: Double
    /// Calls per second once the ramp is over (equal to `from` for a constant rate).
    public var to: Double
    /// How long the ramp takes.
    public var over: Duration

    public static func constant(_ rate: Double) -> RateSchedule {
        RateSchedule(from: rate, to: rate, over: .zero)
    }

    public init(from: Double, to: Double, over: Duration) {
        self.from = from
        self.to = to
        self.over = over
    }

    /// Parses `FROM:TO:OVER`, e.g. `100:5000:30s`.
    public init?(ramp text: String) {
        let parts = text.split(separator: ":").map(String.init)
        guard parts.count == 3, let from = Double(parts[0]), let to = Double(parts[1]), from > 0, to > 0,
            let over = parseDuration(parts[2]), over > .zero
        else { return nil }
        self.init(from: from, to: to, over: over)
    }

    /// Seconds after the start at which call `index` (0-based) should start.
    public func intendedOffset(ofCall index: Int) -> Double {
        let calls = Double(index)
        let ramp = self.over.totalSeconds
        guard ramp > 0, self.from != self.to else { return calls / self.from }
        // Calls issued by time t during the ramp: from·t + (to − from)·t² / (2·ramp).
        let slope = (self.to - self.from) / ramp
        let callsDuringRamp = self.from * ramp + slope * ramp * ramp / 2
        if calls >= callsDuringRamp {
            return ramp + (calls - callsDuringRamp) / self.to
        }
        // Solve slope/2·t² + from·t − calls = 0 for t ≥ 0.
        let discriminant = self.from * self.from + 2 * slope * calls
        return (-self.from + discriminant.squareRoot()) / slope
    }
}
