import CaravanCore
import CaravanPostgres
import CaravanTrainingAPI
import Logging
import PostgresNIO

/// The PostgreSQL implementation of ``TrainingStore``, correct with several
/// replicas writing to one database at once.
///
/// Every write is one READ COMMITTED transaction
/// (``PostgresPool/transaction(_:)``) that claims its idempotency key
/// first (``PostgresIdempotencyLedger``: a duplicate on any replica waits
/// for this one and then answers as it did) and then takes row locks in
/// one order, program before enrolment:
///
/// 1. Enrol, withdraw and complete lock the PROGRAM row
///    (`SELECT … FOR UPDATE`) before they decide anything. Every decision
///    about a program's seats and wait-list reads and changes that row's
///    counters, so its lock serialises those decisions across replicas, as
///    SQLite's single writer (`BEGIN IMMEDIATE`) does for the whole file,
///    while enrolments in other programs proceed in parallel. A writer
///    that waited for the lock reads what the holder committed: at READ
///    COMMITTED each statement sees everything committed before it began,
///    so no decision is made from stale counts. (The wait is bounded by
///    the session's `lock_timeout`, the call timeout: DEADLINE_EXCEEDED.)
/// 2. Then the ENROLMENT rows they change (`FOR UPDATE`). Withdraw and
///    complete look up the place's program first without a lock (a place
///    never changes program), lock the program, then lock the place and
///    read its status afresh. Always program before enrolment: two writers
///    never hold one each while waiting for the other, so no deadlock.
///
/// Not SERIALIZABLE: it would catch the same conflicts but answer them by
/// aborting, and a burst of enrolments into one program — the case that
/// matters — would mostly abort and retry (the pool retries twice, then
/// fails the call); the row lock makes them queue instead.
///
/// The wait-list order is the enrolment id. The id is drawn from the
/// identity sequence by the INSERT, which runs after the program lock is
/// taken, so within a program ids follow the decisions. Drawn before the
/// lock (`nextval` up front, say), two enrolments could take ids in one
/// order and the lock in the other, and the later decision would stand
/// first in line. (It also needs the sequence's CACHE 1, the default.)
///
/// The UNIQUE (program_id, trainee_id) constraint backs up the one-place
/// rule; its violation (23505) becomes SQLite's ALREADY_EXISTS. Reads run
/// in autocommit; a read whose parts must agree (a page of places and the
/// wait-list count before it) is one statement, hence one snapshot.
public struct PostgresTrainingStore: TrainingStore {
    let pool: PostgresPool

    public init(_ pool: PostgresPool) {
        self.pool = pool
    }

    // MARK: Transactions

    /// A write transaction; the UNIQUE backstop on places becomes the
    /// same ALREADY_EXISTS the SQLite store gives. Only the enrolment
    /// table's: a clash on another table's key (say, ids copied from SQLite
    /// without moving the sequence on) keeps PostgreSQL's own words.
    func transaction<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection, Logger) async throws -> T)
        async throws -> T
    {
        try await self.pool.transaction { connection, logger in
            do {
                return try await body(connection, logger)
            } catch let error as PSQLError
                where error.serverInfo?[.sqlState] == "23505" && error.serverInfo?[.tableName] == "enrolment"
            {
                throw TrainingStoreError.duplicatePlace(cause: error)
            }
        }
    }

    // MARK: Programs

    /// Inserts a program (CreateProgram and the seed).
    static func insertProgram(_ program: TrainingProgram, _ connection: PostgresConnection, logger: Logger)
        async throws -> TrainingProgram
    {
        let rows = try await connection.query(
            """
            INSERT INTO program (title, field, host_centre, host_city, country, language,
                                 capacity, start_date, end_date, synthetic)
            VALUES (\(program.title), \(program.field), \(program.hostCentre), \(program.hostCity), \(program.country),
                    \(program.language), \(Int64(program.capacity)), \(program.startDate), \(program.endDate),
                    \(program.synthetic))
            RETURNING \(unescaped: Self.programColumns())
            """, logger: logger
        ).collect()
        guard let row = rows.first else { throw RPCError(code: .internal, message: "The insert returned no program.") }
        return try Self.program(row.makeRandomAccess())
    }

    public func createProgram(_ program: TrainingProgram, write: IdempotentWrite) async throws -> CreateProgramResponse
    {
        try await self.transaction { connection, logger in
            try await PostgresIdempotencyLedger.once(connection, write, logger: logger) {
                CreateProgramResponse(program: try await Self.insertProgram(program, connection, logger: logger))
            }
        }
    }

    // MARK: Trainees

    public func registerTrainee(_ trainee: Trainee, write: IdempotentWrite) async throws -> RegisterTraineeResponse {
        try await self.transaction { connection, logger in
            try await PostgresIdempotencyLedger.once(connection, write, logger: logger) {
                let rows = try await connection.query(
                    """
                    INSERT INTO trainee (name, country, contact, synthetic)
                    VALUES (\(trainee.name), \(trainee.country), \(trainee.contact), \(trainee.synthetic))
                    RETURNING \(unescaped: Self.traineeColumns)
                    """, logger: logger
                ).collect()
                return RegisterTraineeResponse(trainee: try rows.first.map { try Self.trainee($0.makeRandomAccess()) })
            }
        }
    }

    /// Rows per INSERT: 4,000 parameters, well under the protocol's 65,535.
    static let traineeBatch = 1_000

    public func insertTrainees(_ trainees: [Trainee]) async throws {
        try await self.transaction { connection, logger in
            for start in stride(from: 0, to: trainees.count, by: Self.traineeBatch) {
                var statement = PostgresStatement("INSERT INTO trainee (name, country, contact, synthetic) VALUES ")
                for (index, trainee) in trainees[start..<min(start + Self.traineeBatch, trainees.count)].enumerated() {
                    statement.append(index == 0 ? "(?" : ", (?", trainee.name)
                    statement.append(", ?", trainee.country)
                    statement.append(", ?", trainee.contact)
                    statement.append(", ?)", trainee.synthetic)
                }
                try await connection.query(statement.query, logger: logger)
            }
        }
    }

    // MARK: Enrolments

    /// Locks the program row (see the type's comment) and reads the counts
    /// a decision needs; nil for an unknown program.
    static func lockProgram(_ connection: PostgresConnection, id: Int64, logger: Logger) async throws -> ProgramCounts?
    {
        let rows = try await connection.query(
            "SELECT \(unescaped: Self.countsColumns) FROM program WHERE id = \(id) FOR UPDATE", logger: logger
        ).collect()
        return try rows.first.map(Self.counts)
    }

    /// The program a place belongs to, read without a lock: it never changes.
    static func programOf(enrolment id: Int64, _ connection: PostgresConnection, logger: Logger) async throws -> Int64?
    {
        let rows = try await connection.query("SELECT program_id FROM enrolment WHERE id = \(id)", logger: logger)
            .collect()
        return try rows.first?.decode(Int64.self)
    }

    /// Locks a place (after its program) and reads its status.
    static func lockEnrolment(_ connection: PostgresConnection, id: Int64, logger: Logger) async throws
        -> EnrolmentStatus?
    {
        let rows = try await connection.query(
            "SELECT status FROM enrolment WHERE id = \(id) FOR UPDATE", logger: logger
        ).collect()
        return try rows.first.map { EnrolmentStatus(rawValue: Int32(clamping: try $0.decode(Int64.self))) }
    }

    static func fetchEnrolment(_ connection: PostgresConnection, id: Int64, logger: Logger) async throws -> Enrolment? {
        let rows = try await connection.query(
            """
            SELECT \(unescaped: Self.enrolmentColumns()), \(unescaped: Self.waitlistPositionColumn())
            FROM enrolment WHERE id = \(id)
            """, logger: logger
        ).collect()
        return try rows.first.map { try Self.enrolmentWithPosition($0.makeRandomAccess()) }
    }

    static func setStatus(
        _ status: EnrolmentStatus, of id: Int64, now: Int64, certificate: String? = nil,
        _ connection: PostgresConnection, logger: Logger
    ) async throws {
        try await connection.query(
            """
            UPDATE enrolment SET status = \(Int64(status.rawValue)), updated_at = \(now),
                                 certificate_id = COALESCE(\(certificate), certificate_id)
            WHERE id = \(id)
            """, logger: logger)
    }

    public func enrol(
        traineeID: Int64, programID: Int64, today: String, now: Int64, write: IdempotentWrite
    ) async throws -> EnrolResponse {
        try await self.transaction { connection, logger in
            try await PostgresIdempotencyLedger.once(connection, write, logger: logger) {
                let programText = TrainingID.format(TrainingID.program, programID)
                let traineeText = TrainingID.format(TrainingID.trainee, traineeID)
                guard let program = try await Self.lockProgram(connection, id: programID, logger: logger) else {
                    throw TrainingID.notFound(kind: "program", field: "program_id", id: programText)
                }
                let trainee = try await connection.query(
                    "SELECT EXISTS (SELECT 1 FROM trainee WHERE id = \(traineeID))", logger: logger
                ).collect()
                guard try trainee.first?.decode(Bool.self) == true else {
                    throw TrainingID.notFound(kind: "trainee", field: "trainee_id", id: traineeText)
                }
                try EnrolmentRules.checkOpen(programID: programText, endDate: program.endDate, today: today)
                let existing = try await connection.query(
                    "SELECT id, status FROM enrolment WHERE program_id = \(programID) AND trainee_id = \(traineeID)",
                    logger: logger
                ).collect()
                if let row = existing.first {
                    let (id, status) = try row.decode((Int64, Int64).self)
                    throw TrainingStoreError.alreadyHoldsPlace(
                        traineeID: traineeID, programID: programID, enrolmentID: id,
                        status: EnrolmentStatus(rawValue: Int32(clamping: status)))
                }
                let status: EnrolmentStatus
                let position: UInt32
                switch EnrolmentRules.place(
                    capacity: program.capacity, seatsTaken: program.seatsTaken, waitlisted: program.waitlisted)
                {
                case .enrolled:
                    (status, position) = (.enrolled, 0)
                    try await connection.query(
                        "UPDATE program SET enrolled = enrolled + 1 WHERE id = \(programID)", logger: logger)
                case .waitlisted(let next):
                    (status, position) = (.waitlisted, next)
                    try await connection.query(
                        "UPDATE program SET waitlisted = waitlisted + 1 WHERE id = \(programID)", logger: logger)
                }
                // The id is drawn here, under the program lock, so it
                // follows the decision order (see the type's comment).
                let inserted = try await connection.query(
                    """
                    INSERT INTO enrolment (trainee_id, program_id, status, created_at, updated_at)
                    VALUES (\(traineeID), \(programID), \(Int64(status.rawValue)), \(now), \(now))
                    RETURNING id
                    """, logger: logger
                ).collect()
                guard let id = try inserted.first?.decode(Int64.self) else {
                    throw RPCError(code: .internal, message: "The insert returned no enrolment.")
                }
                let enrolment = Enrolment(
                    id: TrainingID.format(TrainingID.enrolment, id), traineeId: traineeText, programId: programText,
                    status: status, waitlistPosition: position, createdAtUnixSeconds: now, updatedAtUnixSeconds: now)
                return EnrolResponse(enrolment: enrolment)
            }
        }
    }

    /// Locks a place's program, then the place (in that order), and
    /// answers its program and current status; NOT_FOUND for an unknown place.
    static func lockPlace(_ connection: PostgresConnection, enrolmentID: Int64, logger: Logger) async throws
        -> (programID: Int64, program: ProgramCounts, status: EnrolmentStatus)
    {
        let enrolmentText = TrainingID.format(TrainingID.enrolment, enrolmentID)
        guard let programID = try await Self.programOf(enrolment: enrolmentID, connection, logger: logger),
            let program = try await Self.lockProgram(connection, id: programID, logger: logger),
            let status = try await Self.lockEnrolment(connection, id: enrolmentID, logger: logger)
        else {
            throw TrainingID.notFound(kind: "enrolment", field: "enrolment_id", id: enrolmentText)
        }
        return (programID, program, status)
    }

    public func withdraw(enrolmentID: Int64, now: Int64, write: IdempotentWrite) async throws -> WithdrawResponse {
        try await self.transaction { connection, logger in
            try await PostgresIdempotencyLedger.once(connection, write, logger: logger) {
                let place = try await Self.lockPlace(connection, enrolmentID: enrolmentID, logger: logger)
                let programID = place.programID
                let effect = try EnrolmentRules.withdraw(
                    place.status, enrolmentID: TrainingID.format(TrainingID.enrolment, enrolmentID))
                try await Self.setStatus(.withdrawn, of: enrolmentID, now: now, connection, logger: logger)
                var promoted: Enrolment?
                switch effect {
                case .leavesWaitlist:
                    try await connection.query(
                        "UPDATE program SET waitlisted = waitlisted - 1 WHERE id = \(programID)", logger: logger)
                case .freesSeat:
                    let after = try await connection.query(
                        """
                        UPDATE program SET enrolled = enrolled - 1 WHERE id = \(programID)
                        RETURNING \(unescaped: Self.countsColumns)
                        """, logger: logger
                    ).collect()
                    guard let counts = try after.first.map(Self.counts),
                        EnrolmentRules.promotes(
                            capacity: counts.capacity, seatsTaken: counts.seatsTaken, waitlisted: counts.waitlisted)
                    else { break }
                    let head = try await connection.query(
                        """
                        SELECT id FROM enrolment
                        WHERE program_id = \(programID) AND status = \(Int64(EnrolmentStatus.waitlisted.rawValue))
                        ORDER BY id LIMIT 1 FOR UPDATE
                        """, logger: logger
                    ).collect()
                    guard let first = try head.first?.decode(Int64.self) else { break }
                    try await Self.setStatus(.enrolled, of: first, now: now, connection, logger: logger)
                    try await connection.query(
                        "UPDATE program SET enrolled = enrolled + 1, waitlisted = waitlisted - 1 WHERE id = \(programID)",
                        logger: logger)
                    promoted = try await Self.fetchEnrolment(connection, id: first, logger: logger)
                }
                return WithdrawResponse(
                    withdrawn: try await Self.fetchEnrolment(connection, id: enrolmentID, logger: logger),
                    promoted: promoted)
            }
        }
    }

    public func complete(enrolmentID: Int64, now: Int64, write: IdempotentWrite) async throws -> CompleteResponse {
        try await self.transaction { connection, logger in
            try await PostgresIdempotencyLedger.once(connection, write, logger: logger) {
                let place = try await Self.lockPlace(connection, enrolmentID: enrolmentID, logger: logger)
                try EnrolmentRules.checkCompletable(
                    place.status, enrolmentID: TrainingID.format(TrainingID.enrolment, enrolmentID))
                let certificate = TrainingID.certificate(programID: place.programID, enrolmentID: enrolmentID)
                try await Self.setStatus(
                    .completed, of: enrolmentID, now: now, certificate: certificate, connection, logger: logger)
                try await connection.query(
                    "UPDATE program SET enrolled = enrolled - 1, completed = completed + 1 WHERE id = \(place.programID)",
                    logger: logger)
                return CompleteResponse(
                    enrolment: try await Self.fetchEnrolment(connection, id: enrolmentID, logger: logger),
                    certificateId: certificate)
            }
        }
    }
}
