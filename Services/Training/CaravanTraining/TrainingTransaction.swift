import CaravanCore
import CaravanDomain
import CaravanTrainingAPI

/// The write primitives of a training store, inside one transaction: rows
/// in and out, locks, counters — no rules. ``TrainingWorkflow`` decides
/// with them, once for SQLite and PostgreSQL.
///
/// On PostgreSQL the `lock…` reads take row locks (`FOR UPDATE`), always
/// the program before its places, so writers on several replicas queue on
/// the program they change (see ``PostgresTrainingStore``); on SQLite the
/// single writer holds the file's write lock for the whole transaction.
public protocol TrainingTransaction: IdempotencyLedgerStore {
    /// Inserts a program (counters at zero) and answers it as stored.
    nonisolated(nonsending) func insertProgram(_ program: TrainingProgram) async throws -> TrainingProgram

    /// Inserts a trainee and answers it as stored.
    nonisolated(nonsending) func insertTrainee(_ trainee: Trainee) async throws -> Trainee

    /// Inserts many trainees (benchmarks and seeding).
    nonisolated(nonsending) func insertTrainees(_ trainees: [Trainee]) async throws

    /// Locks the program and reads what an enrolment decision needs: its
    /// counts, whether the trainee exists, and the place the trainee
    /// already holds in it. Nil for an unknown program.
    nonisolated(nonsending) func lockEnrolmentContext(programID: Int64, traineeID: Int64) async throws
        -> EnrolmentContext?

    /// Locks a place's program, then the place (in that order), and reads
    /// the program's counts and the place's status; nil for an unknown place.
    nonisolated(nonsending) func lockPlace(enrolmentID: Int64) async throws -> LockedPlace?

    /// Inserts a place; answers its id, which is also its wait-list order.
    /// A second place of one trainee in one program fails with
    /// ``TrainingStoreError/duplicatePlace(cause:)``.
    nonisolated(nonsending) func insertEnrolment(
        traineeID: Int64, programID: Int64, status: EnrolmentStatus, at time: Int64
    ) async throws -> Int64

    /// Sets a place's status (and certificate, when given).
    nonisolated(nonsending) func setStatus(
        _ status: EnrolmentStatus, enrolmentID: Int64, at time: Int64, certificate: String?
    ) async throws

    /// The first place on a program's wait-list, locked; nil when it is empty.
    nonisolated(nonsending) func lockFirstWaitlisted(programID: Int64) async throws -> Int64?

    /// Adds `change` to the program's counters.
    nonisolated(nonsending) func changeCounts(programID: Int64, by change: CountChange) async throws

    /// A place with its wait-list position, as the transaction sees it.
    nonisolated(nonsending) func enrolment(id: Int64) async throws -> Enrolment?
}

/// What an enrolment decision reads, under the program's lock.
public struct EnrolmentContext: Sendable {
    public var counts: ProgramCounts
    public var traineeExists: Bool
    /// The place the trainee already holds in the program, if any.
    public var existingPlace: (id: Int64, status: EnrolmentStatus)?

    public init(counts: ProgramCounts, traineeExists: Bool, existingPlace: (id: Int64, status: EnrolmentStatus)?) {
        self.counts = counts
        self.traineeExists = traineeExists
        self.existingPlace = existingPlace
    }
}

/// A place and its program, both locked.
public struct LockedPlace: Sendable {
    public var programID: Int64
    public var counts: ProgramCounts
    public var status: EnrolmentStatus

    public init(programID: Int64, counts: ProgramCounts, status: EnrolmentStatus) {
        self.programID = programID
        self.counts = counts
        self.status = status
    }
}

/// A change to a program's counters.
public struct CountChange: Sendable, Equatable {
    public var enrolled: Int64 = 0
    public var waitlisted: Int64 = 0
    public var completed: Int64 = 0

    public init(enrolled: Int64 = 0, waitlisted: Int64 = 0, completed: Int64 = 0) {
        self.enrolled = enrolled
        self.waitlisted = waitlisted
        self.completed = completed
    }
}
