import CaravanCore
import CaravanServiceKit
import CaravanTrainingAPI
import Foundation
import GRDB

/// The SQLite implementation of ``TrainingStore``.
///
/// Every write runs in one `BEGIN IMMEDIATE` transaction: it takes
/// SQLite's single write lock before it reads anything, so the counts an
/// enrolment decision reads are the latest committed ones and nobody else
/// can commit until this transaction does. Within the process GRDB
/// serialises writers on one connection; across processes sharing the
/// file, the second writer waits on the lock (busy timeout) instead of
/// deciding from a stale snapshot. That is the whole concurrency story for
/// one database file.
public struct SQLiteTrainingStore: TrainingStore {
    let writer: any DatabaseWriter

    public init(_ writer: any DatabaseWriter) {
        self.writer = writer
    }

    // MARK: Transactions

    private func transaction<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await self.writer.writeWithoutTransaction { db in
                var result: T?
                try db.inTransaction(.immediate) {
                    result = try body(db)
                    return .commit
                }
                guard let result else {
                    throw RPCError(code: .internal, message: "The transaction produced no result.")
                }
                return result
            }
        } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE {
            throw TrainingStoreError.duplicatePlace(cause: error)
        }
    }

    private func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await self.writer.read(body)
    }

    // MARK: Programs

    static let programColumns = """
        id, title, field, host_centre, host_city, country, language, capacity, start_date, end_date,
        synthetic, enrolled, waitlisted, completed
        """

    static func program(_ row: Row) -> TrainingProgram {
        TrainingProgram(
            id: TrainingID.format(TrainingID.program, row["id"]),
            title: row["title"],
            field: row["field"],
            hostCentre: row["host_centre"],
            hostCity: row["host_city"],
            country: row["country"],
            language: row["language"],
            capacity: row["capacity"],
            startDate: row["start_date"],
            endDate: row["end_date"],
            synthetic: row["synthetic"],
            enrolled: row["enrolled"],
            waitlisted: row["waitlisted"],
            completed: row["completed"]
        )
    }

    static func fetchProgram(_ db: Database, id: Int64) throws -> TrainingProgram? {
        try Row.fetchOne(
            db.cachedStatement(sql: "SELECT \(Self.programColumns) FROM program WHERE id = ?"),
            arguments: [id]
        ).map(Self.program)
    }

    public func createProgram(_ program: TrainingProgram, write: IdempotentWrite) async throws -> CreateProgramResponse
    {
        try await self.transaction { db in
            try IdempotencyLedger.once(db, write) {
                try db.execute(
                    sql: """
                        INSERT INTO program (title, field, host_centre, host_city, country, language,
                                             capacity, start_date, end_date, synthetic)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        program.title, program.field, program.hostCentre, program.hostCity, program.country,
                        program.language, program.capacity, program.startDate, program.endDate, program.synthetic,
                    ])
                return CreateProgramResponse(program: try Self.fetchProgram(db, id: db.lastInsertedRowID))
            }
        }
    }

    public func program(id: Int64) async throws -> TrainingProgram? {
        try await self.read { db in try Self.fetchProgram(db, id: id) }
    }

    public func listPrograms(_ query: ProgramQuery) async throws -> [TrainingProgram] {
        try await self.read { db in
            var conditions: [String] = []
            var arguments: StatementArguments = []
            if let country = query.country {
                conditions.append("country = ?")
                arguments += [country]
            }
            if let city = query.hostCity {
                conditions.append("host_city = ?")  // COLLATE NOCASE from the column
                arguments += [city]
            }
            if let field = query.field {
                conditions.append("field = ?")
                arguments += [field]
            }
            if let today = query.openOn {
                conditions.append("end_date >= ?")
                arguments += [today]
            }
            if let after = query.afterID {
                conditions.append("id > ?")
                arguments += [after]
            }
            let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
            arguments += [query.limit]
            return try Row.fetchAll(
                db.cachedStatement(sql: "SELECT \(Self.programColumns) FROM program \(filter) ORDER BY id LIMIT ?"),
                arguments: arguments
            ).map(Self.program)
        }
    }

    // MARK: Trainees

    static func trainee(_ row: Row) -> Trainee {
        Trainee(
            id: TrainingID.format(TrainingID.trainee, row["id"]),
            name: row["name"],
            country: row["country"],
            contact: row["contact"],
            synthetic: row["synthetic"]
        )
    }

    static func fetchTrainee(_ db: Database, id: Int64) throws -> Trainee? {
        try Row.fetchOne(
            db.cachedStatement(sql: "SELECT id, name, country, contact, synthetic FROM trainee WHERE id = ?"),
            arguments: [id]
        )
        .map(Self.trainee)
    }

    static func insert(_ trainee: Trainee, _ db: Database) throws {
        try db.execute(
            sql: "INSERT INTO trainee (name, country, contact, synthetic) VALUES (?, ?, ?, ?)",
            arguments: [trainee.name, trainee.country, trainee.contact, trainee.synthetic])
    }

    public func registerTrainee(_ trainee: Trainee, write: IdempotentWrite) async throws -> RegisterTraineeResponse {
        try await self.transaction { db in
            try IdempotencyLedger.once(db, write) {
                try Self.insert(trainee, db)
                return RegisterTraineeResponse(trainee: try Self.fetchTrainee(db, id: db.lastInsertedRowID))
            }
        }
    }

    public func trainee(id: Int64) async throws -> Trainee? {
        try await self.read { db in try Self.fetchTrainee(db, id: id) }
    }

    public func insertTrainees(_ trainees: [Trainee]) async throws {
        try await self.transaction { db in
            for trainee in trainees { try Self.insert(trainee, db) }
        }
    }

    // MARK: Enrolments

    static let enrolmentColumns = "id, trainee_id, program_id, status, created_at, updated_at, certificate_id"

    static func enrolment(_ row: Row, waitlistPosition: UInt32 = 0) -> Enrolment {
        Enrolment(
            id: TrainingID.format(TrainingID.enrolment, row["id"]),
            traineeId: TrainingID.format(TrainingID.trainee, row["trainee_id"]),
            programId: TrainingID.format(TrainingID.program, row["program_id"]),
            status: EnrolmentStatus(rawValue: row["status"]),
            waitlistPosition: waitlistPosition,
            createdAtUnixSeconds: row["created_at"],
            updatedAtUnixSeconds: row["updated_at"],
            certificateId: (row["certificate_id"] as String?) ?? ""
        )
    }

    /// A place's position on its program's wait-list: the wait-listed
    /// places decided before it, plus one.
    static func waitlistPosition(_ db: Database, programID: Int64, enrolmentID: Int64) throws -> UInt32 {
        let count =
            try Int.fetchOne(
                db.cachedStatement(
                    sql: "SELECT COUNT(*) FROM enrolment WHERE program_id = ? AND status = ? AND id <= ?"),
                arguments: [programID, EnrolmentStatus.waitlisted.rawValue, enrolmentID]) ?? 0
        return UInt32(count)
    }

    static func fetchEnrolment(_ db: Database, id: Int64) throws -> Enrolment? {
        guard
            let row = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT \(Self.enrolmentColumns) FROM enrolment WHERE id = ?"),
                arguments: [id])
        else { return nil }
        let status = EnrolmentStatus(rawValue: row["status"])
        let position =
            try status == .waitlisted
            ? Self.waitlistPosition(db, programID: row["program_id"], enrolmentID: id) : 0
        return Self.enrolment(row, waitlistPosition: position)
    }

    static func counts(_ db: Database, programID: Int64) throws -> ProgramCounts? {
        try Row.fetchOne(
            db.cachedStatement(
                sql: "SELECT capacity, end_date, enrolled, waitlisted, completed FROM program WHERE id = ?"),
            arguments: [programID]
        ).map {
            ProgramCounts(
                capacity: $0["capacity"], endDate: $0["end_date"], enrolled: $0["enrolled"],
                waitlisted: $0["waitlisted"],
                completed: $0["completed"])
        }
    }

    public func enrol(traineeID: Int64, programID: Int64, today: String, now: Int64, write: IdempotentWrite)
        async throws
        -> EnrolResponse
    {
        try await self.transaction { db in
            try IdempotencyLedger.once(db, write) {
                let programText = TrainingID.format(TrainingID.program, programID)
                let traineeText = TrainingID.format(TrainingID.trainee, traineeID)
                guard let program = try Self.counts(db, programID: programID) else {
                    throw TrainingID.notFound(kind: "program", field: "program_id", id: programText)
                }
                guard
                    try Bool.fetchOne(
                        db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM trainee WHERE id = ?)"),
                        arguments: [traineeID]) == true
                else {
                    throw TrainingID.notFound(kind: "trainee", field: "trainee_id", id: traineeText)
                }
                try EnrolmentRules.checkOpen(programID: programText, endDate: program.endDate, today: today)
                if let existing = try Row.fetchOne(
                    db.cachedStatement(sql: "SELECT id, status FROM enrolment WHERE program_id = ? AND trainee_id = ?"),
                    arguments: [programID, traineeID])
                {
                    throw TrainingStoreError.alreadyHoldsPlace(
                        traineeID: traineeID, programID: programID, enrolmentID: existing["id"],
                        status: EnrolmentStatus(rawValue: existing["status"]))
                }
                let placement = EnrolmentRules.place(
                    capacity: program.capacity, seatsTaken: program.seatsTaken, waitlisted: program.waitlisted)
                let status: EnrolmentStatus
                let position: UInt32
                switch placement {
                case .enrolled:
                    status = .enrolled
                    position = 0
                    try db.execute(
                        sql: "UPDATE program SET enrolled = enrolled + 1 WHERE id = ?", arguments: [programID])
                case .waitlisted(let next):
                    status = .waitlisted
                    position = next
                    try db.execute(
                        sql: "UPDATE program SET waitlisted = waitlisted + 1 WHERE id = ?", arguments: [programID])
                }
                try db.execute(
                    sql:
                        "INSERT INTO enrolment (trainee_id, program_id, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
                    arguments: [traineeID, programID, status.rawValue, now, now])
                let id = db.lastInsertedRowID
                return EnrolResponse(
                    enrolment: Enrolment(
                        id: TrainingID.format(TrainingID.enrolment, id), traineeId: traineeText, programId: programText,
                        status: status, waitlistPosition: position, createdAtUnixSeconds: now, updatedAtUnixSeconds: now
                    ))
            }
        }
    }

    public func withdraw(enrolmentID: Int64, now: Int64, write: IdempotentWrite) async throws -> WithdrawResponse {
        try await self.transaction { db in
            try IdempotencyLedger.once(db, write) {
                let enrolmentText = TrainingID.format(TrainingID.enrolment, enrolmentID)
                guard
                    let row = try Row.fetchOne(
                        db.cachedStatement(sql: "SELECT program_id, status FROM enrolment WHERE id = ?"),
                        arguments: [enrolmentID])
                else {
                    throw TrainingID.notFound(kind: "enrolment", field: "enrolment_id", id: enrolmentText)
                }
                let programID: Int64 = row["program_id"]
                let effect = try EnrolmentRules.withdraw(
                    EnrolmentStatus(rawValue: row["status"]), enrolmentID: enrolmentText)
                try db.execute(
                    sql: "UPDATE enrolment SET status = ?, updated_at = ? WHERE id = ?",
                    arguments: [EnrolmentStatus.withdrawn.rawValue, now, enrolmentID])
                var promoted: Enrolment?
                switch effect {
                case .leavesWaitlist:
                    try db.execute(
                        sql: "UPDATE program SET waitlisted = waitlisted - 1 WHERE id = ?", arguments: [programID])
                case .freesSeat:
                    try db.execute(
                        sql: "UPDATE program SET enrolled = enrolled - 1 WHERE id = ?", arguments: [programID])
                    guard let counts = try Self.counts(db, programID: programID) else { break }
                    if EnrolmentRules.promotes(
                        capacity: counts.capacity, seatsTaken: counts.seatsTaken, waitlisted: counts.waitlisted),
                        let first = try Int64.fetchOne(
                            db.cachedStatement(
                                sql: "SELECT id FROM enrolment WHERE program_id = ? AND status = ? ORDER BY id LIMIT 1"),
                            arguments: [programID, EnrolmentStatus.waitlisted.rawValue])
                    {
                        try db.execute(
                            sql: "UPDATE enrolment SET status = ?, updated_at = ? WHERE id = ?",
                            arguments: [EnrolmentStatus.enrolled.rawValue, now, first])
                        try db.execute(
                            sql: "UPDATE program SET enrolled = enrolled + 1, waitlisted = waitlisted - 1 WHERE id = ?",
                            arguments: [programID])
                        promoted = try Self.fetchEnrolment(db, id: first)
                    }
                }
                return WithdrawResponse(withdrawn: try Self.fetchEnrolment(db, id: enrolmentID), promoted: promoted)
            }
        }
    }

    public func complete(enrolmentID: Int64, now: Int64, write: IdempotentWrite) async throws -> CompleteResponse {
        try await self.transaction { db in
            try IdempotencyLedger.once(db, write) {
                let enrolmentText = TrainingID.format(TrainingID.enrolment, enrolmentID)
                guard
                    let row = try Row.fetchOne(
                        db.cachedStatement(sql: "SELECT program_id, status FROM enrolment WHERE id = ?"),
                        arguments: [enrolmentID])
                else {
                    throw TrainingID.notFound(kind: "enrolment", field: "enrolment_id", id: enrolmentText)
                }
                try EnrolmentRules.checkCompletable(
                    EnrolmentStatus(rawValue: row["status"]), enrolmentID: enrolmentText)
                let programID: Int64 = row["program_id"]
                let certificate = TrainingID.certificate(programID: programID, enrolmentID: enrolmentID)
                try db.execute(
                    sql: "UPDATE enrolment SET status = ?, updated_at = ?, certificate_id = ? WHERE id = ?",
                    arguments: [EnrolmentStatus.completed.rawValue, now, certificate, enrolmentID])
                try db.execute(
                    sql: "UPDATE program SET enrolled = enrolled - 1, completed = completed + 1 WHERE id = ?",
                    arguments: [programID])
                return CompleteResponse(
                    enrolment: try Self.fetchEnrolment(db, id: enrolmentID), certificateId: certificate)
            }
        }
    }

    public func listEnrolments(programID: Int64, status: EnrolmentStatus?, afterID: Int64?, limit: Int) async throws
        -> [Enrolment]?
    {
        try await self.read { db in
            guard
                try Bool.fetchOne(
                    db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM program WHERE id = ?)"),
                    arguments: [programID]) == true
            else { return nil }
            var sql = "SELECT \(Self.enrolmentColumns) FROM enrolment WHERE program_id = ? AND id > ?"
            var arguments: StatementArguments = [programID, afterID ?? 0]
            if let status {
                sql += " AND status = ?"
                arguments += [status.rawValue]
            }
            sql += " ORDER BY id LIMIT ?"
            arguments += [limit]
            // Positions count up from those wait-listed before the page.
            var position =
                try Int.fetchOne(
                    db.cachedStatement(
                        sql: "SELECT COUNT(*) FROM enrolment WHERE program_id = ? AND status = ? AND id <= ?"),
                    arguments: [programID, EnrolmentStatus.waitlisted.rawValue, afterID ?? 0]) ?? 0
            return try Row.fetchAll(db.cachedStatement(sql: sql), arguments: arguments).map { row in
                guard EnrolmentStatus(rawValue: row["status"]) == .waitlisted else { return Self.enrolment(row) }
                position += 1
                return Self.enrolment(row, waitlistPosition: UInt32(position))
            }
        }
    }

    // MARK: Statistics and history

    public func statistics(grouping: StatisticsGrouping, country: String?) async throws -> [TrainingStatisticsRow] {
        try await self.read { db in
            let key = grouping == .field ? "field" : "country"
            let filter = country == nil ? "" : "WHERE country = ?"
            let arguments: StatementArguments = country.map { StatementArguments([$0]) } ?? StatementArguments()
            // field is COLLATE NOCASE, so "Rail logistics" and "rail
            // logistics" form one group, named by its first spelling.
            return try Row.fetchAll(
                db.cachedStatement(
                    sql: """
                        SELECT MIN(\(key)) AS key, COUNT(*) AS programs, SUM(capacity) AS seats,
                               SUM(enrolled) AS enrolled, SUM(waitlisted) AS waitlisted, SUM(completed) AS completed,
                               SUM(synthetic) AS synthetic_programs
                        FROM program \(filter) GROUP BY \(key) ORDER BY \(key)
                        """),
                arguments: arguments
            ).map { row in
                TrainingStatisticsRow(
                    key: row["key"], programs: row["programs"], seats: row["seats"], enrolled: row["enrolled"],
                    waitlisted: row["waitlisted"], completed: row["completed"], completionRate: 0,
                    syntheticPrograms: row["synthetic_programs"]
                ).withCompletionRate()
            }
        }
    }

    public func history(traineeID: Int64) async throws -> TraineeHistoryResponse? {
        try await self.read { db in
            guard let trainee = try Self.fetchTrainee(db, id: traineeID) else { return nil }
            let rows = try Row.fetchAll(
                db.cachedStatement(sql: "SELECT id FROM enrolment WHERE trainee_id = ? ORDER BY id"),
                arguments: [traineeID])
            var entries: [TraineeHistoryEntry] = []
            for row in rows {
                guard let enrolment = try Self.fetchEnrolment(db, id: row["id"]),
                    let programID = Int64(enrolment.programId.dropFirst(TrainingID.program.count))
                else { continue }
                entries.append(
                    TraineeHistoryEntry(enrolment: enrolment, program: try Self.fetchProgram(db, id: programID)))
            }
            return TraineeHistoryResponse(trainee: trainee, entries: entries)
        }
    }
}

extension TrainingStatisticsRow {
    /// completed / (enrolled + completed), 0 when both are 0.
    func withCompletionRate() -> TrainingStatisticsRow {
        var row = self
        let base = row.enrolled + row.completed
        row.completionRate = base == 0 ? 0 : Double(row.completed) / Double(base)
        return row
    }
}
