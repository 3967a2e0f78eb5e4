import CaravanCore
import CaravanTestSupport
import CaravanTraining
import CaravanTrainingAPI
import Testing

@Suite("Enrolment through the service (in-process, on each backend)", .timeLimit(.minutes(1)))
struct EnrolmentServiceTests {
    @Test(
        "seats first, then a wait-list in order; withdrawal promotes the first in line",
        arguments: StoreBackend.available)
    func waitlistAndPromotion(backend: StoreBackend) async throws {
        try await withTrainingHarness(backend) { harness in
            let program = try await harness.createProgram(capacity: 2)
            var trainees: [Trainee] = []
            for index in 1...5 { trainees.append(try await harness.registerTrainee("Trainee \(index)")) }
            var places: [Enrolment] = []
            for trainee in trainees { places.append(try await harness.enrol(trainee, in: program)) }
            #expect(places.map(\.status) == [.enrolled, .enrolled, .waitlisted, .waitlisted, .waitlisted])
            #expect(places.map(\.waitlistPosition) == [0, 0, 1, 2, 3])

            // A wait-listed place leaving moves those behind it up.
            let left = try await harness.client.withdraw(WithdrawRequest(enrolmentId: places[3].id))
            #expect(left.withdrawn?.status == .withdrawn)
            #expect(left.promoted == nil)
            var waiting = try await harness.allEnrolments(program.id, status: .waitlisted)
            #expect(waiting.map(\.id) == [places[2].id, places[4].id])
            #expect(waiting.map(\.waitlistPosition) == [1, 2])

            // An enrolled place leaving promotes the first in line.
            let freed = try await harness.client.withdraw(WithdrawRequest(enrolmentId: places[0].id))
            #expect(freed.promoted?.id == places[2].id)
            #expect(freed.promoted?.status == .enrolled)
            waiting = try await harness.allEnrolments(program.id, status: .waitlisted)
            #expect(waiting.map(\.id) == [places[4].id])
            #expect(waiting.map(\.waitlistPosition) == [1])

            let current = try #require(try await harness.client.getProgram(GetProgramRequest(id: program.id)).program)
            #expect(current.enrolled == 2)
            #expect(current.waitlisted == 1)
        }
    }

    @Test(
        "complete issues a certificate; the seat stays used; a wait-listed place cannot complete",
        arguments: StoreBackend.available)
    func completion(backend: StoreBackend) async throws {
        try await withTrainingHarness(backend) { harness in
            let program = try await harness.createProgram(capacity: 1)
            let first = try await harness.enrol(try await harness.registerTrainee("A"), in: program)
            let second = try await harness.enrol(try await harness.registerTrainee("B"), in: program)
            let done = try await harness.client.complete(CompleteRequest(enrolmentId: first.id))
            #expect(done.enrolment?.status == .completed)
            #expect(!done.certificateId.isEmpty)
            #expect(done.enrolment?.certificateId == done.certificateId)
            // Completing does not free the seat for the wait-list.
            let listed = try await harness.allEnrolments(program.id)
            #expect(listed.map(\.status) == [.completed, .waitlisted])

            await expectRPCError(.failedPrecondition, field: "enrolment_id") {
                _ = try await harness.client.complete(CompleteRequest(enrolmentId: second.id))
            }
            await expectRPCError(.failedPrecondition, field: "enrolment_id") {
                _ = try await harness.client.complete(CompleteRequest(enrolmentId: first.id))
            }
            await expectRPCError(.failedPrecondition, field: "enrolment_id") {
                _ = try await harness.client.withdraw(WithdrawRequest(enrolmentId: first.id))
            }
        }
    }

    @Test("one place per trainee per program, whatever its status", arguments: StoreBackend.available)
    func onePlacePerTrainee(backend: StoreBackend) async throws {
        try await withTrainingHarness(backend) { harness in
            let program = try await harness.createProgram(capacity: 5)
            let trainee = try await harness.registerTrainee("Aigerim")
            let place = try await harness.enrol(trainee, in: program)
            await expectRPCError(.alreadyExists, field: "trainee_id") {
                _ = try await harness.enrol(trainee, in: program)
            }
            _ = try await harness.client.withdraw(WithdrawRequest(enrolmentId: place.id))
            await expectRPCError(.alreadyExists, field: "trainee_id") {
                _ = try await harness.enrol(trainee, in: program)
            }
            // Another program is fine.
            let other = try await harness.createProgram(capacity: 5, title: "Other")
            #expect(try await harness.enrol(trainee, in: other).status == .enrolled)
        }
    }

    @Test("enrolling in a finished program is FAILED_PRECONDITION", arguments: StoreBackend.available)
    func finishedProgram(backend: StoreBackend) async throws {
        try await withTrainingHarness(backend, clock: TestClock.august2027) { harness in
            let finished = try await harness.createProgram(capacity: 5, start: "2027-03-01", end: "2027-06-30")
            let running = try await harness.createProgram(capacity: 5, start: "2027-07-01", end: "2027-09-30")
            let trainee = try await harness.registerTrainee("Dilnoza")
            await expectRPCError(.failedPrecondition, field: "program_id") {
                _ = try await harness.enrol(trainee, in: finished)
            }
            #expect(try await harness.enrol(trainee, in: running).status == .enrolled)
        }
    }

    @Test("unknown and malformed ids are NOT_FOUND; missing ones INVALID_ARGUMENT", arguments: StoreBackend.available)
    func unknownIDs(backend: StoreBackend) async throws {
        try await withTrainingHarness(backend) { harness in
            let program = try await harness.createProgram(capacity: 5)
            let trainee = try await harness.registerTrainee("Farrukh")
            await expectRPCError(.notFound, field: "id") {
                _ = try await harness.client.getProgram(GetProgramRequest(id: "prog-999"))
            }
            await expectRPCError(.notFound, field: "id") {
                _ = try await harness.client.getTrainee(GetTraineeRequest(id: "trn-999"))
            }
            await expectRPCError(.notFound, field: "id") {
                _ = try await harness.client.getTrainee(GetTraineeRequest(id: program.id))
            }
            await expectRPCError(.notFound, field: "program_id") {
                _ = try await harness.client.enrol(EnrolRequest(traineeId: trainee.id, programId: "prog-999"))
            }
            await expectRPCError(.notFound, field: "trainee_id") {
                _ = try await harness.client.enrol(EnrolRequest(traineeId: "trn-999", programId: program.id))
            }
            await expectRPCError(.notFound, field: "enrolment_id") {
                _ = try await harness.client.withdraw(WithdrawRequest(enrolmentId: "enr-42"))
            }
            await expectRPCError(.notFound, field: "enrolment_id") {
                _ = try await harness.client.complete(CompleteRequest(enrolmentId: "bogus"))
            }
            await expectRPCError(.notFound, field: "trainee_id") {
                _ = try await harness.client.traineeHistory(TraineeHistoryRequest(traineeId: "trn-999"))
            }
            await expectRPCError(.notFound, field: "program_id") {
                _ = try await harness.client.listEnrolments(ListEnrolmentsRequest(programId: "prog-999"))
            }
            await expectRPCError(.invalidArgument, field: "program_id") {
                _ = try await harness.client.enrol(EnrolRequest(traineeId: trainee.id, programId: ""))
            }
        }
    }

    @Test("a trainee's history lists every place, oldest first, with its program", arguments: StoreBackend.available)
    func history(backend: StoreBackend) async throws {
        try await withTrainingHarness(backend) { harness in
            let a = try await harness.createProgram(capacity: 1, title: "A")
            let b = try await harness.createProgram(capacity: 1, title: "B")
            let other = try await harness.registerTrainee("Other")
            let trainee = try await harness.registerTrainee("Bakyt", country: "KG")
            _ = try await harness.enrol(trainee, in: a)
            _ = try await harness.enrol(other, in: b)
            _ = try await harness.enrol(trainee, in: b)
            let history = try await harness.client.traineeHistory(TraineeHistoryRequest(traineeId: trainee.id))
            #expect(history.trainee?.name == "Bakyt")
            #expect(history.entries.map { $0.program?.title } == ["A", "B"])
            #expect(history.entries.map { $0.enrolment?.status } == [.enrolled, .waitlisted])
            #expect(history.entries.last?.enrolment?.waitlistPosition == 1)
        }
    }
}
