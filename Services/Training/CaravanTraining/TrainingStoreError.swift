import CaravanCore
import CaravanTrainingAPI

/// The refusals and generated values both stores produce, built in one
/// place so SQLite and PostgreSQL answer a caller in the same words.
enum TrainingStoreError {
    /// A second place for a trainee in one program, found by the rule's read.
    static func alreadyHoldsPlace(traineeID: Int64, programID: Int64, enrolmentID: Int64, status: EnrolmentStatus)
        -> RPCError
    {
        RPCError(
            code: .alreadyExists,
            message:
                "trainee_id: \(TrainingID.format(TrainingID.trainee, traineeID)) already holds place \(TrainingID.format(TrainingID.enrolment, enrolmentID)) in \(TrainingID.format(TrainingID.program, programID)) (\(EnrolmentRules.name(status))); one place per trainee per program."
        )
    }

    /// A second place that only the UNIQUE constraint caught. The
    /// constraint backs the rules up: such a place never commits.
    static func duplicatePlace(cause: any Error) -> RPCError {
        RPCError(code: .alreadyExists, message: "The trainee already holds a place in this program.", cause: cause)
    }
}

extension TrainingID {
    /// A completed place's certificate id. The row ids make it unique; the
    /// random part makes it unguessable from the enrolment id alone.
    static func certificate(programID: Int64, enrolmentID: Int64) -> String {
        "cert-\(programID)-\(enrolmentID)-" + String(UInt32.random(in: .min ... .max), radix: 36)
    }
}
