import CaravanCore
import CaravanGatewayAPI

/// Runs an aggregate's sections concurrently, each under the same section
/// deadline, and records every section's outcome and latency. It never
/// throws: a section's failure is data in the answer.
public struct FanOut: Sendable {
    public var split: DeadlineSplit

    public init(split: DeadlineSplit = .defaults) {
        self.split = split
    }

    /// Fetches each section of `plan`. `fetch` gets the options for its
    /// backend calls (their timeout ends at the section deadline); sections
    /// whose backend is not configured are SKIPPED without a call. One timer
    /// serves every section, since they share the deadline: when it fires,
    /// the sections still out are TIMED_OUT and their fetches cancelled.
    public func run(
        _ plan: AggregatePlan,
        callerDeadline: ContinuousClock.Instant?,
        isConfigured: @Sendable (Backend) -> Bool,
        fetch: @escaping @Sendable (SectionName, CallOptions) async throws -> SectionPayload
    ) async -> FanOutResult {
        let start = ContinuousClock.now
        let deadline = self.split.sectionDeadline(callerDeadline: callerDeadline)
        var result = FanOutResult()
        var pending = Set<SectionName>()
        return await withTaskGroup(of: SectionEvent.self) { group in
            for section in plan.sections {
                guard isConfigured(section.backend) else {
                    var outcome = SectionOutcome(status: .skipped)
                    outcome.message = "No \(section.backend.rawValue) backend is configured."
                    result.outcomes[section.name] = outcome
                    continue
                }
                pending.insert(section.name)
                group.addTask {
                    let options = CallOptions(deadline: deadline)
                    do {
                        return .finished(section.name, .success(try await fetch(section.name, options)))
                    } catch {
                        return .finished(section.name, .failure(RPCError(converting: error)))
                    }
                }
            }
            if !pending.isEmpty {
                group.addTask {
                    try? await Task.sleep(until: deadline)
                    return .deadline
                }
            }
            while !pending.isEmpty, let event = await group.next() {
                let latency = UInt64(max(0, start.duration(to: .now).totalMicroseconds))
                switch event {
                case .finished(let name, let answer):
                    pending.remove(name)
                    let (outcome, payload) = Self.outcome(of: answer, latencyMicros: latency)
                    result.outcomes[name] = outcome
                    if let payload { result.payloads[name] = payload }
                case .deadline:
                    for name in pending {
                        var outcome = SectionOutcome(status: .timedOut, latencyMicros: latency)
                        outcome.rpcStatusCode = Int32(RPCError.Code.deadlineExceeded.rawValue)
                        outcome.message = "The \(name.rawValue) section did not finish within the gateway's deadline."
                        result.outcomes[name] = outcome
                    }
                    pending.removeAll()
                }
            }
            // The timer, or fetches past the deadline: their backend calls
            // carry the same deadline, so they end promptly even where
            // cancellation is not seen.
            group.cancelAll()
            return result
        }
    }

    private enum SectionEvent: Sendable {
        case finished(SectionName, Result<SectionPayload, RPCError>)
        case deadline
    }

    private static func outcome(
        of answer: Result<SectionPayload, RPCError>, latencyMicros: UInt64
    ) -> (SectionOutcome, SectionPayload?) {
        var outcome = SectionOutcome(latencyMicros: latencyMicros)
        switch answer {
        case .success(let payload):
            outcome.status = .ok
            return (outcome, payload)
        case .failure(let error):
            outcome.status = error.code == .deadlineExceeded ? .timedOut : .failed
            outcome.rpcStatusCode = Int32(error.code.rawValue)
            outcome.message = error.message
            return (outcome, nil)
        }
    }
}
