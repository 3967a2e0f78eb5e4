import CaravanCore
import CaravanTestSupport
import CaravanTraining
import CaravanTrainingAPI
import Testing

@Suite("Training: the live watch of enrolments", .timeLimit(.minutes(1)))
struct EnrolmentWatchTests {
    @Test(
        "WatchEnrolments opens with `created`, then sends each change of its program: places, a withdrawal, the promotion"
    )
    func watchesOneProgram() async throws {
        try await withTrainingHarness(.sqlite) { harness in
            let program = try await harness.createProgram(capacity: 1)
            let other = try await harness.createProgram(capacity: 5, title: "Another program")
            let first = try await harness.registerTrainee("First")
            let second = try await harness.registerTrainee("Second")
            let seated = try await harness.enrol(first, in: program)  // before the watch: not sent
            let (changes, watched) = try await harness.client.watchEnrolments(
                WatchEnrolmentsRequest(programId: program.id)
            ) { responses in
                var iterator = responses.makeAsyncIterator()
                let opening = try #require(try await iterator.next())
                #expect(opening.created && opening.enrolment == nil)
                _ = try await harness.enrol(second, in: other)  // another program: not sent
                let waiting = try await harness.enrol(second, in: program)
                let left = try await harness.client.withdraw(WithdrawRequest(enrolmentId: seated.id))
                var watched: [Enrolment] = []
                for _ in 0..<3 { watched.append(try #require(try await iterator.next()?.enrolment)) }
                return ([waiting, try #require(left.withdrawn), try #require(left.promoted)], watched)
            }
            #expect(watched == changes)
            #expect(watched.map(\.status) == [.waitlisted, .withdrawn, .enrolled])
        }
    }

    @Test("WatchEnrolments: NOT_FOUND for an unknown program")
    func unknownProgram() async throws {
        _ = try await withTrainingHarness(.sqlite) { harness in
            await expectRPCError(.notFound, mentioning: "prog-999") {
                _ = try await harness.client.watchEnrolments(WatchEnrolmentsRequest(programId: "prog-999")) {
                    responses in
                    for try await _ in responses {}
                }
            }
        }
    }
}
