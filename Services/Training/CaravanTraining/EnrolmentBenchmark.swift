import CaravanCore
import CaravanTrainingAPI
import Foundation

/// A purpose-built enrolment load loop (`caravan load` sends one fixed
/// request, and every enrolment needs a distinct trainee): creates a fresh
/// program, then enrols trainees `trn-1`…`trn-N` with `concurrency` calls
/// in flight, and reports throughput and latency percentiles.
public enum EnrolmentBenchmark {
    /// Calls made, failures, wall time and per-call latencies.
    public struct Report: Sendable, CustomStringConvertible {
        public var calls: Int
        public var failures: Int
        public var seconds: Double
        public var latenciesMillis: [Double]

        public var description: String {
            let sorted = self.latenciesMillis.sorted()
            func percentile(_ p: Double) -> String {
                guard !sorted.isEmpty else { return "-" }
                let index = min(sorted.count - 1, Int((p / 100 * Double(sorted.count)).rounded(.up)) - 1)
                return String(format: "%.2f ms", sorted[max(0, index)])
            }
            return """
                enrolments: \(self.calls) (\(self.failures) failed) in \(String(format: "%.2f", self.seconds)) s \
                = \(String(format: "%.0f", Double(self.calls) / self.seconds)) calls/s
                latency p50 \(percentile(50)), p90 \(percentile(90)), p99 \(percentile(99)), max \(percentile(100))
                """
        }
    }

    public static func run(client: TrainingServiceClient, calls: Int, concurrency: Int, capacity: UInt32) async throws -> Report {
        let created = try await client.createProgram(
            CreateProgramRequest(
                program: TrainingProgram(
                    title: "Benchmark program (synthetic)", field: "benchmark", hostCentre: "Synthetic centre",
                    hostCity: "Horgos", country: "CN", language: "zh", capacity: capacity, startDate: "2099-01-01",
                    endDate: "2099-12-31", synthetic: true)))
        let programID = created.program?.id ?? ""
        let start = ContinuousClock.now
        let results = await withTaskGroup(of: [(Double, Bool)].self) { group in
            for worker in 0..<concurrency {
                group.addTask {
                    var results: [(Double, Bool)] = []
                    var index = worker + 1
                    while index <= calls {
                        let began = ContinuousClock.now
                        let ok: Bool
                        do {
                            _ = try await client.enrol(
                                EnrolRequest(traineeId: "trn-\(index)", programId: programID, idempotencyKey: "bench-\(programID)-\(index)"))
                            ok = true
                        } catch {
                            ok = false
                        }
                        let elapsed = began.duration(to: .now)
                        results.append((Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000, ok))
                        index += concurrency
                    }
                    return results
                }
            }
            var all: [(Double, Bool)] = []
            for await part in group { all += part }
            return all
        }
        let elapsed = start.duration(to: .now)
        return Report(
            calls: results.count,
            failures: results.filter { !$0.1 }.count,
            seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18,
            latenciesMillis: results.map(\.0)
        )
    }
}
