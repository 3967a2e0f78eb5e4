import CaravanCore
import CaravanServiceKit
import CaravanTrainingAPI

/// Where the training service keeps its programs, trainees and places.
///
/// Inputs arrive validated (ids as row ids); the store enforces the
/// enrolment rules (``EnrolmentRules``) atomically: each write method is
/// one transaction, in which it also records the idempotency key.
public protocol TrainingStore: Sendable {
    func createProgram(_ program: TrainingProgram, write: IdempotentWrite) async throws -> CreateProgramResponse
    func program(id: Int64) async throws -> TrainingProgram?
    /// Up to `query.limit` programs matching `query`, by id.
    func listPrograms(_ query: ProgramQuery) async throws -> [TrainingProgram]

    func registerTrainee(_ trainee: Trainee, write: IdempotentWrite) async throws -> RegisterTraineeResponse
    func trainee(id: Int64) async throws -> Trainee?
    /// Registers many trainees in one transaction (benchmarks and seeding).
    func insertTrainees(_ trainees: [Trainee]) async throws

    func enrol(traineeID: Int64, programID: Int64, today: String, now: Int64, write: IdempotentWrite) async throws
        -> EnrolResponse
    func withdraw(enrolmentID: Int64, now: Int64, write: IdempotentWrite) async throws -> WithdrawResponse
    func complete(enrolmentID: Int64, now: Int64, write: IdempotentWrite) async throws -> CompleteResponse

    /// A program's enrolments after `afterID`, by id; nil for an unknown program.
    func listEnrolments(programID: Int64, status: EnrolmentStatus?, afterID: Int64?, limit: Int) async throws
        -> [Enrolment]?
    /// One row per group, ordered by key.
    func statistics(grouping: StatisticsGrouping, country: String?) async throws -> [TrainingStatisticsRow]
    /// nil for an unknown trainee.
    func history(traineeID: Int64) async throws -> TraineeHistoryResponse?
}

/// The filters of a program listing, normalised.
public struct ProgramQuery: Sendable, Hashable {
    public var country: String?
    public var hostCity: String?
    public var field: String?
    /// Only programs not finished on this date.
    public var openOn: String?
    public var afterID: Int64?
    public var limit: Int

    public init(
        country: String? = nil, hostCity: String? = nil, field: String? = nil, openOn: String? = nil,
        afterID: Int64? = nil, limit: Int = 50
    ) {
        self.country = country
        self.hostCity = hostCity
        self.field = field
        self.openOn = openOn
        self.afterID = afterID
        self.limit = limit
    }
}
