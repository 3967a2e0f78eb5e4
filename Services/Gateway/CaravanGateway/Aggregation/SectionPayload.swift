import CaravanGatewayAPI

/// What a section's fetch produced, before its outcome is attached.
public enum SectionPayload: Sendable {
    case trade(TradeSection)
    case logistics(LogisticsSection)
    case training(TrainingSection)
    case hub(HubSection)
    case energy(EnergySection)
}

/// Every section's outcome and, for those that succeeded, its payload.
public struct FanOutResult: Sendable {
    public var outcomes: [SectionName: SectionOutcome] = [:]
    public var payloads: [SectionName: SectionPayload] = [:]

    public init() {}

    /// The trade section with its outcome; only the outcome when it failed.
    public var trade: TradeSection {
        var section = TradeSection()
        if case .trade(let payload) = self.payloads[.trade] { section = payload }
        section.outcome = self.outcomes[.trade] ?? SectionOutcome()
        return section
    }

    public var logistics: LogisticsSection {
        var section = LogisticsSection()
        if case .logistics(let payload) = self.payloads[.logistics] { section = payload }
        section.outcome = self.outcomes[.logistics] ?? SectionOutcome()
        return section
    }

    public var training: TrainingSection {
        var section = TrainingSection()
        if case .training(let payload) = self.payloads[.training] { section = payload }
        section.outcome = self.outcomes[.training] ?? SectionOutcome()
        return section
    }

    public var hub: HubSection {
        var section = HubSection()
        if case .hub(let payload) = self.payloads[.hub] { section = payload }
        section.outcome = self.outcomes[.hub] ?? SectionOutcome()
        return section
    }

    public var energy: EnergySection {
        var section = EnergySection()
        if case .energy(let payload) = self.payloads[.energy] { section = payload }
        section.outcome = self.outcomes[.energy] ?? SectionOutcome()
        return section
    }
}
