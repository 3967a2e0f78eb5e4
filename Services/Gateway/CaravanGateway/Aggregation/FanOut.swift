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
    /// whose backend is not configured are SKIPPED without a call.
    public func run(
        _ plan: AggregatePlan,
        callerDeadline: ContinuousClock.Instant?,
        isConfigured: @Sendable (Backend) -> Bool,
        fetch: @escaping @Sendable (SectionName, CallOptions) async throws -> SectionPayload
    ) async -> FanOutResult {
        let deadline = self.split.sectionDeadline(callerDeadline: callerDeadline)
        return await withTaskGroup(of: (SectionName, SectionOutcome, SectionPayload?).self) { group in
            for section in plan.sections {
                guard isConfigured(section.backend) else {
                    group.addTask {
                        var outcome = SectionOutcome(status: .skipped)
                        outcome.message = "No \(section.backend.rawValue) backend is configured."
                        return (section.name, outcome, nil)
                    }
                    continue
                }
                group.addTask {
                    let (outcome, payload) = await Self.runSection(section.name, deadline: deadline, fetch: fetch)
                    return (section.name, outcome, payload)
                }
            }
            var result = FanOutResult()
            for await (name, outcome, payload) in group {
                result.outcomes[name] = outcome
                if let payload { result.payloads[name] = payload }
            }
            return result
        }
    }

    /// One section: its fetch raced against the section deadline.
    static func runSection(
        _ name: SectionName,
        deadline: ContinuousClock.Instant,
        fetch: @escaping @Sendable (SectionName, CallOptions) async throws -> SectionPayload
    ) async -> (SectionOutcome, SectionPayload?) {
        let start = ContinuousClock.now
        let options = CallOptions(timeout: start.duration(to: deadline))
        // nil: the deadline came first.
        let first = await withTaskGroup(of: Result<SectionPayload, RPCError>?.self) { group in
            group.addTask {
                do {
                    return .success(try await fetch(name, options))
                } catch {
                    return .failure(RPCError(converting: error))
                }
            }
            group.addTask {
                try? await Task.sleep(until: deadline)
                return nil
            }
            let first = await group.next() ?? nil
            // The backend calls carry the same deadline, so the fetch ends
            // promptly even where cancellation is not seen.
            group.cancelAll()
            return first
        }
        var outcome = SectionOutcome()
        outcome.latencyMicros = UInt64(max(0, start.duration(to: .now).microseconds))
        switch first {
        case .success(let payload)?:
            outcome.status = .ok
            return (outcome, payload)
        case .failure(let error)? where error.code != .deadlineExceeded:
            outcome.status = .failed
            outcome.rpcStatusCode = Int32(error.code.rawValue)
            outcome.message = error.message
            return (outcome, nil)
        case .failure(let error)?:
            outcome.status = .timedOut
            outcome.rpcStatusCode = Int32(RPCError.Code.deadlineExceeded.rawValue)
            outcome.message = error.message
            return (outcome, nil)
        case nil:
            outcome.status = .timedOut
            outcome.rpcStatusCode = Int32(RPCError.Code.deadlineExceeded.rawValue)
            outcome.message = "The \(name.rawValue) section did not finish within the gateway's deadline."
            return (outcome, nil)
        }
    }
}

extension Duration {
    /// Whole microseconds.
    var microseconds: Int64 {
        let (seconds, attoseconds) = self.components
        return seconds * 1_000_000 + attoseconds / 1_000_000_000_000
    }
}
