import CaravanCore
import CaravanDomain
import CaravanTrainingAPI
import Foundation
import Logging

/// `caravan.training.v1.TrainingService`: validates requests, settles the
/// idempotency key, runs each write's ``TrainingWorkflow`` in one store
/// transaction, and answers reads from the ``TrainingStore``.
public struct TrainingServiceProvider: TrainingServiceProtocol {
    public static let defaultProgramPageSize = 50
    public static let maxProgramPageSize = 500
    public static let defaultEnrolmentPageSize = 100
    public static let maxEnrolmentPageSize = 1000

    let store: any TrainingStore
    let logger: Logger
    /// Enrolments as changed through this provider, for ``watchEnrolments``.
    public let changedEnrolments = LiveFeed<Enrolment>()
    /// Seconds since 1970; injected so tests can move the calendar.
    let clock: @Sendable () -> Int64

    public init(
        store: any TrainingStore,
        logger: Logger = Logger(label: "caravan.training"),
        clock: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) }
    ) {
        self.store = store
        self.logger = logger
        self.clock = clock
    }

    /// Maps storage failures to statuses, once for every call.
    private var storage: StorageCall { StorageCall(logger: self.logger) }

    // MARK: Programs

    public func createProgram(request: CreateProgramRequest, context: ServerContext) async throws
        -> CreateProgramResponse
    {
        let program = try TrainingValidation.program(request.program)
        let write = try IdempotentWrite(request, context: context)
        return try await self.storage {
            try await self.store.write { try await TrainingWorkflow.createProgram(program, write: write, in: $0) }
        }
    }

    public func getProgram(request: GetProgramRequest, context: ServerContext) async throws -> GetProgramResponse {
        let id = try TrainingID.parse(request.id, prefix: TrainingID.program, field: "id", kind: "program")
        guard let program = try await self.storage({ try await self.store.program(id: id) }) else {
            throw TrainingID.notFound(kind: "program", field: "id", id: request.id)
        }
        return GetProgramResponse(program: program)
    }

    public func listPrograms(request: ListProgramsRequest, context: ServerContext) async throws -> ListProgramsResponse
    {
        let size = try TrainingValidation.pageSize(
            request.pageSize, defaultSize: Self.defaultProgramPageSize, maximum: Self.maxProgramPageSize)
        var query = ProgramQuery(limit: size + 1)
        if !request.country.isEmpty { query.country = try CountryCode.validated(request.country, field: "country") }
        if !request.hostCity.isEmpty {
            query.hostCity = try TrainingValidation.text(request.hostCity, field: "host_city")
        }
        if !request.field.isEmpty { query.field = try TrainingValidation.text(request.field, field: "field") }
        if request.openForEnrolment { query.openOn = CalendarDate.utc(secondsSince1970: self.clock()) }
        // The token is bound to the filters (not to the date, so a listing
        // can continue past midnight).
        let filter = [
            query.country ?? "", query.hostCity?.lowercased() ?? "", query.field?.lowercased() ?? "",
            request.openForEnrolment ? "open" : "",
        ].joined(separator: "|")
        query.afterID = try PageToken.decode(request.pageToken, filter: filter)?.lastKey
        var programs = try await self.storage { try await self.store.listPrograms(query) }
        var next = ""
        if programs.count > size {
            programs.removeLast(programs.count - size)
            if let last = programs.last, let id = Int64(last.id.dropFirst(TrainingID.program.count)) {
                next = PageToken(lastKey: id).encode(filter: filter)
            }
        }
        return ListProgramsResponse(programs: programs, nextPageToken: next)
    }

    // MARK: Trainees

    public func registerTrainee(request: RegisterTraineeRequest, context: ServerContext) async throws
        -> RegisterTraineeResponse
    {
        let trainee = try TrainingValidation.trainee(request.trainee)
        let write = try IdempotentWrite(request, context: context)
        return try await self.storage {
            try await self.store.write { try await TrainingWorkflow.registerTrainee(trainee, write: write, in: $0) }
        }
    }

    public func getTrainee(request: GetTraineeRequest, context: ServerContext) async throws -> GetTraineeResponse {
        let id = try TrainingID.parse(request.id, prefix: TrainingID.trainee, field: "id", kind: "trainee")
        guard let trainee = try await self.storage({ try await self.store.trainee(id: id) }) else {
            throw TrainingID.notFound(kind: "trainee", field: "id", id: request.id)
        }
        return GetTraineeResponse(trainee: trainee)
    }

    // MARK: Enrolment

    public func enrol(request: EnrolRequest, context: ServerContext) async throws -> EnrolResponse {
        let trainee = try TrainingID.parse(
            request.traineeId, prefix: TrainingID.trainee, field: "trainee_id", kind: "trainee")
        let program = try TrainingID.parse(
            request.programId, prefix: TrainingID.program, field: "program_id", kind: "program")
        let write = try IdempotentWrite(request, context: context)
        let now = self.clock()
        let today = CalendarDate.utc(secondsSince1970: now)
        let response = try await self.storage {
            try await self.store.write {
                try await TrainingWorkflow.enrol(
                    traineeID: trainee, programID: program, today: today, now: now, write: write, in: $0)
            }
        }
        self.logger.debug(
            "Enrolment decided",
            metadata: [
                "enrolment": "\(response.enrolment?.id ?? "")",
                "status": "\(response.enrolment?.status.protoName ?? "")",
            ])
        if let enrolment = response.enrolment { self.changedEnrolments.publish(enrolment) }
        return response
    }

    public func withdraw(request: WithdrawRequest, context: ServerContext) async throws -> WithdrawResponse {
        let id = try TrainingID.parse(
            request.enrolmentId, prefix: TrainingID.enrolment, field: "enrolment_id", kind: "enrolment")
        let write = try IdempotentWrite(request, context: context)
        let now = self.clock()
        let response = try await self.storage {
            try await self.store.write {
                try await TrainingWorkflow.withdraw(enrolmentID: id, now: now, write: write, in: $0)
            }
        }
        if let withdrawn = response.withdrawn { self.changedEnrolments.publish(withdrawn) }
        if let promoted = response.promoted { self.changedEnrolments.publish(promoted) }
        return response
    }

    public func complete(request: CompleteRequest, context: ServerContext) async throws -> CompleteResponse {
        let id = try TrainingID.parse(
            request.enrolmentId, prefix: TrainingID.enrolment, field: "enrolment_id", kind: "enrolment")
        let write = try IdempotentWrite(request, context: context)
        let now = self.clock()
        let response = try await self.storage {
            try await self.store.write {
                try await TrainingWorkflow.complete(enrolmentID: id, now: now, write: write, in: $0)
            }
        }
        if let enrolment = response.enrolment { self.changedEnrolments.publish(enrolment) }
        return response
    }

    public func watchEnrolments(
        request: WatchEnrolmentsRequest, response: RPCWriter<WatchEnrolmentsResponse>, context: ServerContext
    ) async throws {
        var programID: String?
        if !request.programId.isEmpty {
            let id = try TrainingID.parse(
                request.programId, prefix: TrainingID.program, field: "program_id", kind: "program")
            guard try await self.storage({ try await self.store.program(id: id) }) != nil else {
                throw TrainingID.notFound(kind: "program", field: "program_id", id: request.programId)
            }
            programID = TrainingID.format(TrainingID.program, id)
        }
        try await self.changedEnrolments.watch {
            try await response.write(WatchEnrolmentsResponse(created: true))
        } _: { enrolment in
            if programID == nil || enrolment.programId == programID {
                try await response.write(WatchEnrolmentsResponse(enrolment: enrolment))
            }
        }
    }

    public func listEnrolments(request: ListEnrolmentsRequest, context: ServerContext) async throws
        -> ListEnrolmentsResponse
    {
        let program = try TrainingID.parse(
            request.programId, prefix: TrainingID.program, field: "program_id", kind: "program")
        guard EnrolmentStatus.allCases.contains(request.status) else {
            throw RPCError.invalidArgument(field: "status", "unknown status \(request.status.rawValue)")
        }
        let size = try TrainingValidation.pageSize(
            request.pageSize, defaultSize: Self.defaultEnrolmentPageSize, maximum: Self.maxEnrolmentPageSize)
        let status: EnrolmentStatus? = request.status == .unspecified ? nil : request.status
        let filter = "enrolments|\(program)|\(request.status.rawValue)"
        let after = try PageToken.decode(request.pageToken, filter: filter)?.lastKey
        guard
            var enrolments = try await self.storage({
                try await self.store.listEnrolments(programID: program, status: status, afterID: after, limit: size + 1)
            })
        else {
            throw TrainingID.notFound(kind: "program", field: "program_id", id: request.programId)
        }
        var next = ""
        if enrolments.count > size {
            enrolments.removeLast(enrolments.count - size)
            if let last = enrolments.last, let id = Int64(last.id.dropFirst(TrainingID.enrolment.count)) {
                next = PageToken(lastKey: id).encode(filter: filter)
            }
        }
        return ListEnrolmentsResponse(enrolments: enrolments, nextPageToken: next)
    }

    // MARK: Statistics and history

    public func statistics(request: StatisticsRequest, context: ServerContext) async throws -> StatisticsResponse {
        let grouping: StatisticsGrouping
        switch request.groupBy {
        case .unspecified, .country: grouping = .country
        case .field: grouping = .field
        default: throw RPCError.invalidArgument(field: "group_by", "unknown grouping \(request.groupBy.rawValue)")
        }
        let country = request.country.isEmpty ? nil : try CountryCode.validated(request.country, field: "country")
        let rows = try await self.storage { try await self.store.statistics(grouping: grouping, country: country) }
        return TrainingStatistics.response(rows)
    }

    public func traineeHistory(request: TraineeHistoryRequest, context: ServerContext) async throws
        -> TraineeHistoryResponse
    {
        let id = try TrainingID.parse(
            request.traineeId, prefix: TrainingID.trainee, field: "trainee_id", kind: "trainee")
        guard let history = try await self.storage({ try await self.store.history(traineeID: id) }) else {
            throw TrainingID.notFound(kind: "trainee", field: "trainee_id", id: request.traineeId)
        }
        return history
    }
}

extension CreateProgramRequest: IdempotentRequest {}
extension RegisterTraineeRequest: IdempotentRequest {}
extension EnrolRequest: IdempotentRequest {}
extension WithdrawRequest: IdempotentRequest {}
extension CompleteRequest: IdempotentRequest {}
