import CaravanCore
import CaravanTrainingAPI

/// Where the training service keeps its programs, trainees and places:
/// ``SQLiteTrainingStore`` (the default) or ``PostgresTrainingStore``.
///
/// Reads answer from committed data. Writes run their workflow
/// (``TrainingWorkflow``) inside ``write(_:)``: one transaction, all or
/// nothing, with the idempotency key recorded in it.
public protocol TrainingStore: Sendable {
    /// Runs `body` in one write transaction; returns once it has committed.
    func write<T: Sendable>(
        _ body: nonisolated(nonsending) @escaping @Sendable (any TrainingTransaction) async throws -> T
    ) async throws -> T

    func program(id: Int64) async throws -> TrainingProgram?
    /// Up to `query.limit` programs matching `query`, by id.
    func listPrograms(_ query: ProgramQuery) async throws -> [TrainingProgram]
    func trainee(id: Int64) async throws -> Trainee?
    /// A program's enrolments after `afterID`, by id; nil for an unknown program.
    func listEnrolments(programID: Int64, status: EnrolmentStatus?, afterID: Int64?, limit: Int) async throws
        -> [Enrolment]?
    /// The programs' maintained counters, summed per group (a country, or
    /// a field with case ignored), ordered by the group's key.
    func statistics(grouping: StatisticsGrouping, country: String?) async throws -> [TrainingStatisticsRow]
    /// nil for an unknown trainee.
    func history(traineeID: Int64) async throws -> TraineeHistoryResponse?
}

extension TrainingStore {
    /// Registers many trainees in one transaction (benchmarks and seeding).
    public func insertTrainees(_ trainees: [Trainee]) async throws {
        try await self.write { transaction in try await transaction.insertTrainees(trainees) }
    }
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
