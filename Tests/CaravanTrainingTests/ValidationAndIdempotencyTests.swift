import CaravanCore
import CaravanTestSupport
import CaravanTraining
import CaravanTrainingAPI
import Testing

@Suite("Validation and idempotency", .timeLimit(.minutes(1)))
struct ValidationAndIdempotencyTests {
    static let good = TrainingProgram(
        title: "T", field: "rail logistics", hostCentre: "C", hostCity: "Almaty", country: "KZ", language: "ru",
        capacity: 10, startDate: "2027-03-01", endDate: "2027-04-01")

    /// One bad value per field, applied to an otherwise good program.
    static func breaking(_ field: String) -> TrainingProgram {
        var p = Self.good
        switch field {
        case "program.title": p.title = "  "
        case "program.field": p.field = ""
        case "program.host_centre": p.hostCentre = String(repeating: "x", count: 201)
        case "program.host_city": p.hostCity = " "  // (a NUL never gets this far: the encoder refuses it)
        case "program.country": p.country = "Kazakhstan"
        case "program.language": p.language = "russian!"
        case "program.capacity": p.capacity = 0
        case "program.start_date": p.startDate = "2027-02-30"
        case "program.end_date": p.endDate = "2027-02-01"
        default: Issue.record("no breaking value for \(field)")
        }
        return p
    }

    @Test(
        "bad programs are INVALID_ARGUMENT naming the field",
        arguments: StoreBackend.available,
        [
            "program.title", "program.field", "program.host_centre", "program.host_city", "program.country",
            "program.language", "program.capacity", "program.start_date", "program.end_date",
        ]
    )
    func badPrograms(backend: StoreBackend, field: String) async throws {
        try await withTrainingHarness(backend) { harness in
            await expectRPCError(.invalidArgument, field: field) {
                _ = try await harness.client.createProgram(CreateProgramRequest(program: Self.breaking(field)))
            }
            await expectRPCError(.invalidArgument, field: "program") {
                _ = try await harness.client.createProgram(CreateProgramRequest())
            }
        }
    }

    @Test("bad trainees are INVALID_ARGUMENT naming the field", arguments: StoreBackend.available)
    func badTrainees(backend: StoreBackend) async throws {
        try await withTrainingHarness(backend) { harness in
            await expectRPCError(.invalidArgument, field: "trainee") {
                _ = try await harness.client.registerTrainee(RegisterTraineeRequest())
            }
            await expectRPCError(.invalidArgument, field: "trainee.name") {
                _ = try await harness.client.registerTrainee(
                    RegisterTraineeRequest(trainee: Trainee(name: "", country: "KZ")))
            }
            await expectRPCError(.invalidArgument, field: "trainee.country") {
                _ = try await harness.client.registerTrainee(
                    RegisterTraineeRequest(trainee: Trainee(name: "A", country: "ZZ")))
            }
            let ok = try await harness.client.registerTrainee(
                RegisterTraineeRequest(trainee: Trainee(name: " Aibek ", country: "kg", contact: "aibek@example.org")))
            #expect(ok.trainee?.name == "Aibek")
            #expect(ok.trainee?.country == "KG")
            #expect(ok.trainee?.id.hasPrefix("trn-") == true)
        }
    }

    @Test(
        "a repeated key answers with the first answer and writes once (request field or call header)",
        arguments: StoreBackend.available)
    func idempotentEnrol(backend: StoreBackend) async throws {
        try await withTrainingHarness(backend) { harness in
            let program = try await harness.createProgram(capacity: 1)
            let a = try await harness.registerTrainee("A")
            let b = try await harness.registerTrainee("B")
            let first = try await harness.enrol(a, in: program, key: "enrol-a")
            let again = try await harness.enrol(a, in: program, key: "enrol-a")
            #expect(first == again)

            // The key in the call header counts too.
            let options = CallOptions(idempotencyKey: "enrol-b")
            let viaHeader = try await harness.client.enrol(
                EnrolRequest(traineeId: b.id, programId: program.id), options: options)
            let repeated = try await harness.client.enrol(
                EnrolRequest(traineeId: b.id, programId: program.id), options: options)
            #expect(viaHeader == repeated)
            #expect(viaHeader.enrolment?.status == .waitlisted)
            #expect(try await harness.allEnrolments(program.id).count == 2)

            // A request key and a different header key: the caller cannot mean both.
            await expectRPCError(.invalidArgument, field: "idempotency_key") {
                _ = try await harness.client.enrol(
                    EnrolRequest(traineeId: b.id, programId: program.id, idempotencyKey: "x"),
                    options: CallOptions(idempotencyKey: "y"))
            }

            // The same key for a different request is refused.
            await expectRPCError(.invalidArgument, field: "idempotency_key") {
                _ = try await harness.enrol(b, in: program, key: "enrol-a")
            }

            // Withdraw and complete replay too (the promotion happens once).
            let withdrawn = try await harness.client.withdraw(
                WithdrawRequest(enrolmentId: first.id, idempotencyKey: "w-1"))
            let withdrawnAgain = try await harness.client.withdraw(
                WithdrawRequest(enrolmentId: first.id, idempotencyKey: "w-1"))
            #expect(withdrawn == withdrawnAgain)
            #expect(withdrawn.promoted?.traineeId == b.id)
            let promoted = try #require(withdrawn.promoted)
            let done = try await harness.client.complete(
                CompleteRequest(enrolmentId: promoted.id, idempotencyKey: "c-1"))
            let doneAgain = try await harness.client.complete(
                CompleteRequest(enrolmentId: promoted.id, idempotencyKey: "c-1"))
            #expect(done.certificateId == doneAgain.certificateId)

            // Registering with a key creates one trainee.
            let r1 = try await harness.client.registerTrainee(
                RegisterTraineeRequest(trainee: Trainee(name: "C", country: "TJ"), idempotencyKey: "reg-c"))
            let r2 = try await harness.client.registerTrainee(
                RegisterTraineeRequest(trainee: Trainee(name: "C", country: "TJ"), idempotencyKey: "reg-c"))
            #expect(r1.trainee?.id == r2.trainee?.id)
        }
    }

    @Test("a failed write records no key: the retry is decided afresh", arguments: StoreBackend.available)
    func failureIsNotRecorded(backend: StoreBackend) async throws {
        try await withTrainingHarness(backend) { harness in
            let program = try await harness.createProgram(capacity: 1)
            await expectRPCError(.notFound, field: "trainee_id") {
                _ = try await harness.client.enrol(
                    EnrolRequest(traineeId: "trn-99", programId: program.id, idempotencyKey: "k"))
            }
            let trainee = try await harness.registerTrainee("A")
            #expect(trainee.id != "trn-99")
            // Same key, different request: allowed because nothing was recorded.
            #expect(try await harness.enrol(trainee, in: program, key: "k").status == .enrolled)
        }
    }
}
