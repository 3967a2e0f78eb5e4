import CaravanCore
import CaravanDomain
import CaravanPostgres
import CaravanTrainingAPI
import Logging
import PostgresNIO

/// The PostgreSQL implementation of ``TrainingStore``, correct with several
/// replicas writing to one database at once.
///
/// Every write is one READ COMMITTED transaction
/// (``PostgresPool/transaction(_:)``) that claims its idempotency key
/// first (a duplicate on any replica waits for this one and then answers
/// as it did) and then takes row locks in one order, program before
/// enrolment:
///
/// 1. Enrol, withdraw and complete lock the PROGRAM row
///    (`SELECT … FOR UPDATE`) before they read anything else. Every
///    decision about a program's seats and wait-list reads and changes
///    that row's counters, so its lock serialises those decisions across
///    replicas, as SQLite's single writer does for the whole file, while
///    enrolments in other programs proceed in parallel. A writer that
///    waited for the lock reads what the holder committed: at READ
///    COMMITTED each statement sees everything committed before it began,
///    so what a decision reads after the lock — in its next statement — is
///    current. (The wait is bounded by the session's `lock_timeout`.)
/// 2. Then the ENROLMENT rows they change (`FOR UPDATE`). Withdraw and
///    complete find the place's program inside the statement that locks
///    the program (a place never changes program), then lock the place and
///    read its status afresh. Always program before enrolment: two writers
///    never hold one each while waiting for the other, so no deadlock.
///
/// Not SERIALIZABLE: it would catch the same conflicts but answer them by
/// aborting, and a burst of enrolments into one program — the case that
/// matters — would mostly abort and retry; the row lock makes them queue.
///
/// The wait-list order is the enrolment id, drawn from the identity
/// sequence by the INSERT, which runs after the program lock is taken, so
/// within a program ids follow the decisions. (It also needs the
/// sequence's CACHE 1, the default.)
///
/// The UNIQUE (program_id, trainee_id) constraint backs up the one-place
/// rule; its violation (23505) becomes SQLite's ALREADY_EXISTS. Reads run
/// in autocommit; a read whose parts must agree (a page of places and the
/// wait-list count before it) is one statement, hence one snapshot. The
/// statements a call runs often are prepared once per connection.
public struct PostgresTrainingStore: TrainingStore {
    let pool: PostgresPool

    public init(_ pool: PostgresPool) {
        self.pool = pool
    }

    public func write<T: Sendable>(
        _ body: nonisolated(nonsending) @escaping @Sendable (any TrainingTransaction) async throws -> T
    ) async throws -> T {
        try await self.pool.transaction { connection, logger in
            try await body(PostgresTrainingTransaction(PostgresTransaction(connection: connection, logger: logger)))
        }
    }

    // MARK: Reads

    enum ProgramByID: PostgresStatementText {
        static let sql = "SELECT \(TrainingColumns.program()) FROM program WHERE id = $1"
    }

    enum TraineeByID: PostgresStatementText {
        static let sql = "SELECT \(TrainingColumns.trainee) FROM trainee WHERE id = $1"
    }

    public func program(id: Int64) async throws -> TrainingProgram? {
        try await self.pool.read { connection, logger in
            try await connection.prepared(ProgramByID.self, id, logger: logger).first.map {
                try TrainingColumns.program($0.makeRandomAccess())
            }
        }
    }

    public func listPrograms(_ query: ProgramQuery) async throws -> [TrainingProgram] {
        var statement = PostgresStatement("SELECT \(TrainingColumns.program()) FROM program WHERE TRUE")
        if let country = query.country { statement.append(" AND country = ?", country) }
        // host_city and field compare case-insensitively (caravan_nocase).
        if let city = query.hostCity { statement.append(" AND host_city = ?", city) }
        if let field = query.field { statement.append(" AND field = ?", field) }
        if let today = query.openOn { statement.append(" AND end_date >= ?", today) }
        if let after = query.afterID { statement.append(" AND id > ?", after) }
        statement.append(" ORDER BY id LIMIT ?", Int64(query.limit))
        let sql = statement.query
        return try await self.pool.read { connection, logger in
            try await connection.query(sql, logger: logger).collect().map {
                try TrainingColumns.program($0.makeRandomAccess())
            }
        }
    }

    public func trainee(id: Int64) async throws -> Trainee? {
        try await self.pool.read { connection, logger in
            try await connection.prepared(TraineeByID.self, id, logger: logger).first.map {
                try TrainingColumns.trainee($0.makeRandomAccess())
            }
        }
    }

    public func listEnrolments(programID: Int64, status: EnrolmentStatus?, afterID: Int64?, limit: Int) async throws
        -> [Enrolment]?
    {
        let waiting = Int64(EnrolmentStatus.waitlisted.rawValue)
        let after = afterID ?? 0
        // The page and the count of places wait-listed before it come from
        // one statement, so they agree even while places change.
        var statement = PostgresStatement("SELECT \(TrainingColumns.enrolment()), ")
        statement.append("(SELECT COUNT(*) FROM enrolment WHERE program_id = ?", programID)
        statement.append(" AND status = ?", waiting)
        statement.append(" AND id <= ?) FROM enrolment", after)
        statement.append(" WHERE program_id = ?", programID)
        statement.append(" AND id > ?", after)
        if let status { statement.append(" AND status = ?", Int64(status.rawValue)) }
        statement.append(" ORDER BY id LIMIT ?", Int64(limit))
        let sql = statement.query
        return try await self.pool.read { connection, logger in
            // Programs are never deleted: checking apart from the page is safe.
            guard try await !connection.prepared(ProgramByID.self, programID, logger: logger).isEmpty else {
                return nil
            }
            let rows = try await connection.query(sql, logger: logger).collect().map { $0.makeRandomAccess() }
            // Positions count up from those wait-listed before the page.
            var position = try rows.first.map { UInt32(clamping: try $0[7].decode(Int64.self)) } ?? 0
            return try rows.map { row in
                var enrolment = try TrainingColumns.enrolment(row, waitlistPosition: 0)
                if enrolment.status == .waitlisted {
                    position += 1
                    enrolment.waitlistPosition = position
                }
                return enrolment
            }
        }
    }

    public func statistics(grouping: StatisticsGrouping, country: String?) async throws -> [TrainingStatisticsRow] {
        let key = grouping == .field ? "field" : "country"
        // As on SQLite: field is case-insensitive, so "Rail logistics" and
        // "rail logistics" form one group, named by its first spelling (by
        // id); groups sort by the key with ASCII letters folded, like NOCASE.
        var statement = PostgresStatement(
            """
            SELECT (array_agg(\(key) ORDER BY id))[1], COUNT(*), SUM(capacity)::BIGINT, SUM(enrolled)::BIGINT,
                   SUM(waitlisted)::BIGINT, SUM(completed)::BIGINT, COUNT(*) FILTER (WHERE synthetic)
            FROM program
            """)
        if let country { statement.append(" WHERE country = ?", country) }
        statement.append(" GROUP BY \(key) ORDER BY lower(\(key)) COLLATE \"C\"")
        let sql = statement.query
        return try await self.pool.read { connection, logger in
            try await connection.query(sql, logger: logger).collect().map { row in
                let (key, programs, seats, enrolled, waitlisted, completed, synthetic) = try row.decode(
                    (String, Int64, Int64, Int64, Int64, Int64, Int64).self)
                return TrainingStatisticsRow(
                    key: key, programs: UInt32(clamping: programs), seats: UInt64(clamping: seats),
                    enrolled: UInt64(clamping: enrolled), waitlisted: UInt64(clamping: waitlisted),
                    completed: UInt64(clamping: completed), completionRate: 0,
                    syntheticPrograms: UInt32(clamping: synthetic))
            }
        }
    }

    enum History: PostgresStatementText {
        static let sql = """
            SELECT \(TrainingColumns.enrolment("e")), \(TrainingColumns.waitlistPosition("e")),
                   \(TrainingColumns.program("p"))
            FROM enrolment AS e JOIN program AS p ON p.id = e.program_id
            WHERE e.trainee_id = $1 ORDER BY e.id
            """
    }

    public func history(traineeID: Int64) async throws -> TraineeHistoryResponse? {
        try await self.pool.read { connection, logger in
            // A trainee never changes once registered; the places and their
            // programs come from one statement.
            guard
                let trainee = try await connection.prepared(TraineeByID.self, traineeID, logger: logger).first.map({
                    try TrainingColumns.trainee($0.makeRandomAccess())
                })
            else { return nil }
            let entries = try await connection.prepared(History.self, traineeID, logger: logger).map { row in
                let row = row.makeRandomAccess()
                return TraineeHistoryEntry(
                    enrolment: try TrainingColumns.enrolmentWithPosition(row),
                    program: try TrainingColumns.program(row, at: 8))
            }
            return TraineeHistoryResponse(trainee: trainee, entries: entries)
        }
    }
}

/// ``TrainingTransaction`` on one PostgreSQL transaction.
struct PostgresTrainingTransaction: TrainingTransaction, IdempotencyLedgerForwarding {
    let base: PostgresTransaction

    init(_ base: PostgresTransaction) { self.base = base }

    /// The ledger's primitives are the transaction's (``IdempotencyLedgerForwarding``).
    var ledger: PostgresTransaction { self.base }

    enum InsertProgram: PostgresStatementText {
        static let sql = """
            INSERT INTO program (title, field, host_centre, host_city, country, language,
                                 capacity, start_date, end_date, synthetic)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
            RETURNING \(TrainingColumns.program())
            """
    }

    nonisolated(nonsending) func insertProgram(_ program: TrainingProgram) async throws -> TrainingProgram {
        try await Self.insertProgram(program, self.base)
    }

    /// Inserts a program (CreateProgram and the seed).
    static func insertProgram(_ program: TrainingProgram, _ base: PostgresTransaction) async throws -> TrainingProgram {
        let rows = try await base.rows(
            InsertProgram.self, program.title, program.field, program.hostCentre, program.hostCity, program.country,
            program.language, Int64(program.capacity), program.startDate, program.endDate, program.synthetic)
        guard let row = rows.first else { throw RPCError(code: .internal, message: "The insert returned no program.") }
        return try TrainingColumns.program(row.makeRandomAccess())
    }

    enum InsertTrainee: PostgresStatementText {
        static let sql = """
            INSERT INTO trainee (name, country, contact, synthetic) VALUES ($1, $2, $3, $4)
            RETURNING \(TrainingColumns.trainee)
            """
    }

    nonisolated(nonsending) func insertTrainee(_ trainee: Trainee) async throws -> Trainee {
        let rows = try await self.base.rows(
            InsertTrainee.self, trainee.name, trainee.country, trainee.contact, trainee.synthetic)
        guard let row = rows.first else { throw RPCError(code: .internal, message: "The insert returned no trainee.") }
        return try TrainingColumns.trainee(row.makeRandomAccess())
    }

    enum InsertTrainees: PostgresStatementText {
        // One array per column, unnested: one statement however many rows.
        static let sql = """
            INSERT INTO trainee (name, country, contact, synthetic)
            SELECT * FROM unnest($1::TEXT[], $2::TEXT[], $3::TEXT[], $4::BOOLEAN[])
            """
    }

    /// Rows per INSERT, so one statement stays well within the call timeout.
    static let traineeBatch = 10_000

    nonisolated(nonsending) func insertTrainees(_ trainees: [Trainee]) async throws {
        for start in stride(from: 0, to: trainees.count, by: Self.traineeBatch) {
            let batch = trainees[start..<min(start + Self.traineeBatch, trainees.count)]
            _ = try await self.base.rows(
                InsertTrainees.self, batch.map(\.name), batch.map(\.country), batch.map(\.contact),
                batch.map(\.synthetic))
        }
    }

    enum LockProgram: PostgresStatementText {
        static let sql = "SELECT \(TrainingColumns.counts) FROM program WHERE id = $1 FOR UPDATE"
    }

    enum PlaceOfTrainee: PostgresStatementText {
        static let sql = """
            SELECT EXISTS (SELECT 1 FROM trainee WHERE id = $2),
                   (SELECT id FROM enrolment WHERE program_id = $1 AND trainee_id = $2),
                   (SELECT status FROM enrolment WHERE program_id = $1 AND trainee_id = $2)
            """
    }

    nonisolated(nonsending) func lockEnrolmentContext(programID: Int64, traineeID: Int64) async throws
        -> EnrolmentContext?
    {
        guard let locked = try await self.base.rows(LockProgram.self, programID).first else { return nil }
        // After the lock, in a statement of its own: it sees what the lock's
        // previous holder committed.
        guard let row = try await self.base.rows(PlaceOfTrainee.self, programID, traineeID).first else {
            throw RPCError(code: .internal, message: "The enrolment context returned no row.")
        }
        let (exists, placeID, status) = try row.decode((Bool, Int64?, Int64?).self)
        let existing = placeID.map { (id: $0, status: EnrolmentStatus(rawValue: Int32(clamping: status ?? 0))) }
        return EnrolmentContext(
            counts: try TrainingColumns.counts(locked), traineeExists: exists, existingPlace: existing)
    }

    enum LockProgramOfPlace: PostgresStatementText {
        static let sql = """
            SELECT id, \(TrainingColumns.counts) FROM program
            WHERE id = (SELECT program_id FROM enrolment WHERE id = $1) FOR UPDATE
            """
    }

    enum LockPlace: PostgresStatementText {
        static let sql = "SELECT status FROM enrolment WHERE id = $1 FOR UPDATE"
    }

    nonisolated(nonsending) func lockPlace(enrolmentID: Int64) async throws -> LockedPlace? {
        guard let program = try await self.base.rows(LockProgramOfPlace.self, enrolmentID).first,
            let place = try await self.base.rows(LockPlace.self, enrolmentID).first
        else { return nil }
        let cells = program.makeRandomAccess()
        let counts = ProgramCounts(
            capacity: UInt32(clamping: try cells[1].decode(Int64.self)), endDate: try cells[2].decode(String.self),
            enrolled: UInt32(clamping: try cells[3].decode(Int64.self)),
            waitlisted: UInt32(clamping: try cells[4].decode(Int64.self)),
            completed: UInt32(clamping: try cells[5].decode(Int64.self)))
        return LockedPlace(
            programID: try cells[0].decode(Int64.self), counts: counts,
            status: EnrolmentStatus(rawValue: Int32(clamping: try place.decode(Int64.self))))
    }

    enum InsertEnrolment: PostgresStatementText {
        static let sql = """
            INSERT INTO enrolment (trainee_id, program_id, status, created_at, updated_at)
            VALUES ($1, $2, $3, $4, $4) RETURNING id
            """
    }

    nonisolated(nonsending) func insertEnrolment(
        traineeID: Int64, programID: Int64, status: EnrolmentStatus, at time: Int64
    ) async throws -> Int64 {
        do {
            guard
                let id = try await self.base.rows(
                    InsertEnrolment.self, traineeID, programID, Int64(status.rawValue), time
                )
                .first?.decode(Int64.self)
            else {
                throw RPCError(code: .internal, message: "The insert returned no enrolment.")
            }
            return id
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" {
            // Only the one-place rule's constraint: another key clash keeps PostgreSQL's words.
            guard error.serverInfo?[.tableName] == "enrolment" else { throw error }
            throw TrainingStoreError.duplicatePlace(cause: error)
        }
    }

    enum SetStatus: PostgresStatementText {
        static let sql = """
            UPDATE enrolment SET status = $1, updated_at = $2, certificate_id = COALESCE($3::TEXT, certificate_id)
            WHERE id = $4
            """
    }

    nonisolated(nonsending) func setStatus(
        _ status: EnrolmentStatus, enrolmentID: Int64, at time: Int64, certificate: String?
    ) async throws {
        _ = try await self.base.rows(SetStatus.self, Int64(status.rawValue), time, certificate, enrolmentID)
    }

    enum FirstWaitlisted: PostgresStatementText {
        static let sql = """
            SELECT id FROM enrolment WHERE program_id = $1 AND status = $2 ORDER BY id LIMIT 1 FOR UPDATE
            """
    }

    nonisolated(nonsending) func lockFirstWaitlisted(programID: Int64) async throws -> Int64? {
        try await self.base.rows(FirstWaitlisted.self, programID, Int64(EnrolmentStatus.waitlisted.rawValue)).first?
            .decode(Int64.self)
    }

    enum ChangeCounts: PostgresStatementText {
        static let sql = """
            UPDATE program SET enrolled = enrolled + $1, waitlisted = waitlisted + $2, completed = completed + $3
            WHERE id = $4
            """
    }

    nonisolated(nonsending) func changeCounts(programID: Int64, by change: CountChange) async throws {
        _ = try await self.base.rows(ChangeCounts.self, change.enrolled, change.waitlisted, change.completed, programID)
    }

    enum EnrolmentByID: PostgresStatementText {
        static let sql = """
            SELECT \(TrainingColumns.enrolment()), \(TrainingColumns.waitlistPosition())
            FROM enrolment WHERE id = $1
            """
    }

    nonisolated(nonsending) func enrolment(id: Int64) async throws -> Enrolment? {
        try await self.base.rows(EnrolmentByID.self, id).first.map {
            try TrainingColumns.enrolmentWithPosition($0.makeRandomAccess())
        }
    }
}
