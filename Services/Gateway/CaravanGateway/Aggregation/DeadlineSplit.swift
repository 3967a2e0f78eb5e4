/// How much of the caller's time the sections get: what is left of the
/// deadline, minus a margin for the gateway's own work (assembling and
/// sending the answer), so the answer leaves before the caller gives up.
public struct DeadlineSplit: Sendable, Equatable {
    /// Kept back at least this much...
    public var minimumMargin: Duration
    /// ...or this share of the remaining time, whichever is larger...
    public var marginFraction: Double
    /// ...but never more than this.
    public var maximumMargin: Duration
    /// The sections' budget when the caller set no deadline.
    public var defaultBudget: Duration

    public init(
        minimumMargin: Duration = .milliseconds(5),
        marginFraction: Double = 0.05,
        maximumMargin: Duration = .milliseconds(100),
        defaultBudget: Duration = .seconds(5)
    ) {
        self.minimumMargin = minimumMargin
        self.marginFraction = marginFraction
        self.maximumMargin = maximumMargin
        self.defaultBudget = defaultBudget
    }

    public static var defaults: DeadlineSplit { DeadlineSplit() }

    /// When the sections must be done.
    public func sectionDeadline(
        callerDeadline: ContinuousClock.Instant?, now: ContinuousClock.Instant = .now
    ) -> ContinuousClock.Instant {
        guard let callerDeadline else { return now.advanced(by: self.defaultBudget) }
        let remaining = now.duration(to: callerDeadline)
        guard remaining > .zero else { return now }
        let margin = min(self.maximumMargin, max(self.minimumMargin, remaining * self.marginFraction))
        return remaining > margin ? callerDeadline.advanced(by: .zero - margin) : now
    }
}
