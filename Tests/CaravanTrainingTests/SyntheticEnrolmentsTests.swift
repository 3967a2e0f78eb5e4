import CaravanCore
import CaravanTestSupport
import CaravanTraining
import CaravanTrainingAPI
import Testing

@Suite("Generated enrolments follow the rules", .timeLimit(.minutes(2)))
struct SyntheticEnrolmentsTests {
    @Test(
        "Each generated trainee holds one place; seats fill first, the rest wait in order; counters agree",
        arguments: StoreBackend.available)
    func generated(backend: StoreBackend) async throws {
        try await withTrainingHarness(backend) { harness in
            let seated = try await SyntheticEnrolments.generate(
                count: 1_500, into: harness.store, now: TestClock.january2027)
            let statistics = try await harness.client.statistics(StatisticsRequest(groupBy: .field))
            let total = try #require(statistics.total)
            #expect(total.enrolled + total.waitlisted == 1_500)
            #expect(total.enrolled == UInt64(seated))
            // Open programs fill to capacity before anyone waits.
            let programs = try await harness.client.listPrograms(ListProgramsRequest(pageSize: 100)).programs
            for program in programs where program.waitlisted > 0 {
                #expect(program.enrolled == program.capacity, "\(program.id)")
                let listed = try await harness.allEnrolments(program.id, pageSize: 500)
                #expect(listed.filter { $0.status == .enrolled }.count == Int(program.enrolled))
                let waiting = listed.filter { $0.status == .waitlisted }
                #expect(waiting.map(\.waitlistPosition) == (1...waiting.count).map { UInt32($0) })
            }
        }
    }
}
