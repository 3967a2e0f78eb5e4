import CaravanCore
import CaravanDomain
import CaravanTrainingAPI

/// The training service's writes, written once for every store: each runs
/// inside one transaction (``TrainingStore/write(_:)``) with its
/// idempotency key, reads what it decides from through the store's
/// primitives, asks ``EnrolmentRules`` what to do, and writes that.
enum TrainingWorkflow {
    nonisolated(nonsending) static func createProgram(
        _ program: TrainingProgram, write: IdempotentWrite, in transaction: some TrainingTransaction
    ) async throws -> CreateProgramResponse {
        try await IdempotencyLedger.once(write, in: transaction) {
            CreateProgramResponse(program: try await transaction.insertProgram(program))
        }
    }

    nonisolated(nonsending) static func registerTrainee(
        _ trainee: Trainee, write: IdempotentWrite, in transaction: some TrainingTransaction
    ) async throws -> RegisterTraineeResponse {
        try await IdempotencyLedger.once(write, in: transaction) {
            RegisterTraineeResponse(trainee: try await transaction.insertTrainee(trainee))
        }
    }

    /// A seat if one is free, else the back of the wait-list; refused for
    /// an unknown program or trainee, a finished program, or a trainee who
    /// already holds a place in it.
    nonisolated(nonsending) static func enrol(
        traineeID: Int64, programID: Int64, today: String, now: Int64, write: IdempotentWrite,
        in transaction: some TrainingTransaction
    ) async throws -> EnrolResponse {
        try await IdempotencyLedger.once(write, in: transaction) {
            let programText = TrainingID.format(TrainingID.program, programID)
            let traineeText = TrainingID.format(TrainingID.trainee, traineeID)
            guard let context = try await transaction.lockEnrolmentContext(programID: programID, traineeID: traineeID)
            else {
                throw TrainingID.notFound(kind: "program", field: "program_id", id: programText)
            }
            guard context.traineeExists else {
                throw TrainingID.notFound(kind: "trainee", field: "trainee_id", id: traineeText)
            }
            try EnrolmentRules.checkOpen(programID: programText, endDate: context.counts.endDate, today: today)
            if let existing = context.existingPlace {
                throw TrainingStoreError.alreadyHoldsPlace(
                    traineeID: traineeID, programID: programID, enrolmentID: existing.id, status: existing.status)
            }
            let counts = context.counts
            let status: EnrolmentStatus
            let position: UInt32
            switch EnrolmentRules.place(
                capacity: counts.capacity, seatsTaken: counts.seatsTaken, waitlisted: counts.waitlisted)
            {
            case .enrolled:
                (status, position) = (.enrolled, 0)
                try await transaction.changeCounts(programID: programID, by: CountChange(enrolled: 1))
            case .waitlisted(let next):
                (status, position) = (.waitlisted, next)
                try await transaction.changeCounts(programID: programID, by: CountChange(waitlisted: 1))
            }
            // The id is drawn here, under the program's lock, so ids follow
            // the decisions: the id is the wait-list order.
            let id = try await transaction.insertEnrolment(
                traineeID: traineeID, programID: programID, status: status, at: now)
            return EnrolResponse(
                enrolment: Enrolment(
                    id: TrainingID.format(TrainingID.enrolment, id), traineeId: traineeText, programId: programText,
                    status: status, waitlistPosition: position, createdAtUnixSeconds: now, updatedAtUnixSeconds: now))
        }
    }

    /// Withdraws an enrolled or wait-listed place; a freed seat goes to the
    /// first on the wait-list.
    nonisolated(nonsending) static func withdraw(
        enrolmentID: Int64, now: Int64, write: IdempotentWrite, in transaction: some TrainingTransaction
    ) async throws -> WithdrawResponse {
        try await IdempotencyLedger.once(write, in: transaction) {
            let enrolmentText = TrainingID.format(TrainingID.enrolment, enrolmentID)
            guard let place = try await transaction.lockPlace(enrolmentID: enrolmentID) else {
                throw TrainingID.notFound(kind: "enrolment", field: "enrolment_id", id: enrolmentText)
            }
            let programID = place.programID
            let effect = try EnrolmentRules.withdraw(place.status, enrolmentID: enrolmentText)
            try await transaction.setStatus(.withdrawn, enrolmentID: enrolmentID, at: now, certificate: nil)
            var promoted: Enrolment?
            switch effect {
            case .leavesWaitlist:
                try await transaction.changeCounts(programID: programID, by: CountChange(waitlisted: -1))
            case .freesSeat:
                var counts = place.counts
                counts.enrolled -= 1
                var change = CountChange(enrolled: -1)
                if EnrolmentRules.promotes(
                    capacity: counts.capacity, seatsTaken: counts.seatsTaken, waitlisted: counts.waitlisted),
                    let first = try await transaction.lockFirstWaitlisted(programID: programID)
                {
                    try await transaction.setStatus(.enrolled, enrolmentID: first, at: now, certificate: nil)
                    change = CountChange(waitlisted: -1)
                    try await transaction.changeCounts(programID: programID, by: change)
                    promoted = try await transaction.enrolment(id: first)
                } else {
                    try await transaction.changeCounts(programID: programID, by: change)
                }
            }
            return WithdrawResponse(withdrawn: try await transaction.enrolment(id: enrolmentID), promoted: promoted)
        }
    }

    /// Completes an enrolled place: it keeps its seat and gets a certificate.
    nonisolated(nonsending) static func complete(
        enrolmentID: Int64, now: Int64, write: IdempotentWrite, in transaction: some TrainingTransaction
    ) async throws -> CompleteResponse {
        try await IdempotencyLedger.once(write, in: transaction) {
            let enrolmentText = TrainingID.format(TrainingID.enrolment, enrolmentID)
            guard let place = try await transaction.lockPlace(enrolmentID: enrolmentID) else {
                throw TrainingID.notFound(kind: "enrolment", field: "enrolment_id", id: enrolmentText)
            }
            try EnrolmentRules.checkCompletable(place.status, enrolmentID: enrolmentText)
            let certificate = TrainingID.certificate(programID: place.programID, enrolmentID: enrolmentID)
            try await transaction.setStatus(.completed, enrolmentID: enrolmentID, at: now, certificate: certificate)
            try await transaction.changeCounts(programID: place.programID, by: CountChange(enrolled: -1, completed: 1))
            return CompleteResponse(
                enrolment: try await transaction.enrolment(id: enrolmentID), certificateId: certificate)
        }
    }
}
