import CaravanCore
import CaravanGatewayAPI

/// A backend service the gateway fans out to.
public enum Backend: String, Sendable, CaseIterable {
    case trade, logistics, training
}

/// A section of an aggregate answer.
public enum SectionName: String, Sendable, CaseIterable {
    case trade, logistics, training, hub, energy
}

/// Declares an aggregate's sections: which backend answers each and which
/// are required for a useful answer. The rules live here, as data, rather
/// than as conditions spread through the handlers.
public struct AggregatePlan: Sendable {
    /// One section of the plan.
    public struct Section: Sendable {
        public let name: SectionName
        public let backend: Backend
        /// A required section counts towards a useful answer; an optional
        /// one is reported but cannot make the answer useful on its own.
        public let required: Bool

        public init(_ name: SectionName, from backend: Backend, required: Bool) {
            self.name = name
            self.backend = backend
            self.required = required
        }
    }

    public let name: String
    public let sections: [Section]

    public init(name: String, sections: [Section]) {
        self.name = name
        self.sections = sections
    }

    /// A partner country: its trade, network and training are the profile;
    /// the hub's sessions by that country's creators and its energy
    /// projects are extra.
    public static let countryProfile = AggregatePlan(
        name: "CountryProfile",
        sections: [
            Section(.trade, from: .trade, required: true),
            Section(.logistics, from: .logistics, required: true),
            Section(.training, from: .training, required: true),
            Section(.hub, from: .trade, required: false),
            Section(.energy, from: .trade, required: false),
        ])

    /// The whole partnership: the headline figures, and the energy
    /// projects beside them (context, so not required).
    public static let partnershipOverview = AggregatePlan(
        name: "PartnershipOverview",
        sections: [
            Section(.trade, from: .trade, required: true),
            Section(.logistics, from: .logistics, required: true),
            Section(.training, from: .training, required: true),
            Section(.hub, from: .trade, required: true),
            Section(.energy, from: .trade, required: false),
        ])

    /// The error to fail the whole call with, or `nil` when the answer is
    /// useful: at least one required section came back OK. When every one
    /// timed out the call is DEADLINE_EXCEEDED, otherwise UNAVAILABLE.
    public func verdict(_ outcomes: [SectionName: SectionOutcome]) -> RPCError? {
        let required = self.sections.filter(\.required).map(\.name)
        let statuses = required.map { outcomes[$0]?.status ?? .unspecified }
        guard !statuses.contains(.ok) else { return nil }
        let summary = required.map { name in
            let outcome = outcomes[name] ?? SectionOutcome()
            let status = outcome.status.protoName ?? "\(outcome.status.rawValue)"
            return outcome.message.isEmpty
                ? "\(name.rawValue): \(status)" : "\(name.rawValue): \(status) (\(outcome.message))"
        }.joined(separator: "; ")
        let allTimedOut = statuses.allSatisfy { $0 == .timedOut }
        return RPCError(
            code: allTimedOut ? .deadlineExceeded : .unavailable,
            message: "\(self.name): no required section could be answered: \(summary)")
    }

    /// Whether any section failed or timed out.
    public static func isPartial(_ outcomes: [SectionName: SectionOutcome]) -> Bool {
        outcomes.values.contains { $0.status == .failed || $0.status == .timedOut }
    }
}
