import CaravanCore
import CaravanDomain
import CaravanSQLite
import CaravanTrainingAPI

/// The SQLite implementation of ``TrainingStore``.
///
/// Writes run on the database's one writer (``SQLiteWriter``): its
/// transaction holds SQLite's write lock from BEGIN IMMEDIATE, so the
/// counts a decision reads are the latest and nobody else commits until it
/// does; across processes sharing the file, a second writer waits on the
/// lock (busy timeout) instead of deciding from a stale snapshot. Reads
/// run on the calling thread's own connection and see committed data only.
public struct SQLiteTrainingStore: TrainingStore {
    public let database: SQLiteDatabase

    public init(_ database: SQLiteDatabase) {
        self.database = database
    }

    public func write<T: Sendable>(
        _ body: nonisolated(nonsending) @escaping @Sendable (any TrainingTransaction) async throws -> T
    ) async throws -> T {
        try await self.database.write { connection in try await body(SQLiteTrainingTransaction(connection: connection))
        }
    }

    // MARK: Reads

    public func program(id: Int64) async throws -> TrainingProgram? {
        try self.database.read { try TrainingRows.program($0, id: id) }
    }

    public func listPrograms(_ query: ProgramQuery) async throws -> [TrainingProgram] {
        var conditions: [String] = []
        var arguments: [SQLiteValue] = []
        if let country = query.country {
            conditions.append("country = ?")
            arguments.append(.text(country))
        }
        if let city = query.hostCity {
            conditions.append("host_city = ?")  // COLLATE NOCASE from the column
            arguments.append(.text(city))
        }
        if let field = query.field {
            conditions.append("field = ?")
            arguments.append(.text(field))
        }
        if let today = query.openOn {
            conditions.append("end_date >= ?")
            arguments.append(.text(today))
        }
        if let after = query.afterID {
            conditions.append("id > ?")
            arguments.append(.integer(after))
        }
        let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        arguments.append(.integer(Int64(query.limit)))
        let sql = "SELECT \(TrainingRows.programColumns) FROM program \(filter) ORDER BY id LIMIT ?"
        return try self.database.read { try $0.all(sql, arguments: arguments, as: TrainingRows.program) }
    }

    public func trainee(id: Int64) async throws -> Trainee? {
        try self.database.read { try TrainingRows.trainee($0, id: id) }
    }

    public func listEnrolments(programID: Int64, status: EnrolmentStatus?, afterID: Int64?, limit: Int) async throws
        -> [Enrolment]?
    {
        var sql = "SELECT \(TrainingRows.enrolmentColumns) FROM enrolment WHERE program_id = ? AND id > ?"
        var arguments: [SQLiteValue] = [.integer(programID), .integer(afterID ?? 0)]
        if let status {
            sql += " AND status = ?"
            arguments.append(.integer(Int64(status.rawValue)))
        }
        sql += " ORDER BY id LIMIT ?"
        arguments.append(.integer(Int64(limit)))
        let (page, values) = (sql, arguments)
        // Counting the wait-list ahead of the page grows with the wait-list.
        return try await self.database.readOffloaded { connection in
            guard try connection.one("SELECT 1 FROM program WHERE id = ?", programID, as: { _ in true }) ?? false else {
                return nil
            }
            // Positions count up from those wait-listed before the page.
            var position = try TrainingRows.waitlisted(connection, programID: programID, upTo: afterID ?? 0)
            return try connection.all(page, arguments: values) { row in
                var enrolment = TrainingRows.enrolment(row)
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
        // field is COLLATE NOCASE, so "Rail logistics" and "rail logistics"
        // form one group, named by its first spelling (the lowest id).
        let sql = """
            SELECT (SELECT \(key) FROM program AS first WHERE first.\(key) = program.\(key)
                    \(country == nil ? "" : "AND first.country = program.country") ORDER BY first.id LIMIT 1),
                   COUNT(*), SUM(capacity), SUM(enrolled), SUM(waitlisted), SUM(completed), SUM(synthetic)
            FROM program \(country == nil ? "" : "WHERE country = ?") GROUP BY \(key) ORDER BY \(key)
            """
        let arguments: [SQLiteValue] = country.map { [.text($0)] } ?? []
        return try self.database.read { connection in
            try connection.all(sql, arguments: arguments) { row in
                TrainingStatisticsRow(
                    key: row.text(0), programs: UInt32(row.int64(1)), seats: UInt64(row.int64(2)),
                    enrolled: UInt64(row.int64(3)), waitlisted: UInt64(row.int64(4)), completed: UInt64(row.int64(5)),
                    completionRate: 0, syntheticPrograms: UInt32(row.int64(6)))
            }
        }
    }

    public func history(traineeID: Int64) async throws -> TraineeHistoryResponse? {
        try await self.database.readOffloaded { connection in
            guard let trainee = try TrainingRows.trainee(connection, id: traineeID) else { return nil }
            let ids = try connection.all("SELECT id FROM enrolment WHERE trainee_id = ? ORDER BY id", traineeID) {
                $0.int64(0)
            }
            var entries: [TraineeHistoryEntry] = []
            for id in ids {
                guard let enrolment = try TrainingRows.enrolment(connection, id: id),
                    let programID = Int64(enrolment.programId.dropFirst(TrainingID.program.count))
                else { continue }
                entries.append(
                    TraineeHistoryEntry(
                        enrolment: enrolment, program: try TrainingRows.program(connection, id: programID)))
            }
            return TraineeHistoryResponse(trainee: trainee, entries: entries)
        }
    }
}

/// ``TrainingTransaction`` on the SQLite writer's connection.
struct SQLiteTrainingTransaction: TrainingTransaction, IdempotencyLedgerForwarding {
    let connection: SQLiteConnection

    /// The ledger's primitives are the connection's (``IdempotencyLedgerForwarding``).
    var ledger: SQLiteConnection { self.connection }

    nonisolated(nonsending) func insertProgram(_ program: TrainingProgram) async throws -> TrainingProgram {
        try TrainingRows.insertProgram(program, self.connection)
    }

    nonisolated(nonsending) func insertTrainee(_ trainee: Trainee) async throws -> Trainee {
        try TrainingRows.insertTrainee(trainee, self.connection)
        return try TrainingRows.trainee(self.connection, id: self.connection.lastInsertRowID) ?? trainee
    }

    nonisolated(nonsending) func insertTrainees(_ trainees: [Trainee]) async throws {
        for trainee in trainees { try TrainingRows.insertTrainee(trainee, self.connection) }
    }

    nonisolated(nonsending) func lockEnrolmentContext(programID: Int64, traineeID: Int64) async throws
        -> EnrolmentContext?
    {
        guard let counts = try TrainingRows.counts(self.connection, programID: programID) else { return nil }
        let exists = try self.connection.one("SELECT 1 FROM trainee WHERE id = ?", traineeID) { _ in true } ?? false
        let existing = try self.connection.one(
            "SELECT id, status FROM enrolment WHERE program_id = ? AND trainee_id = ?", programID, traineeID
        ) { row in (id: row.int64(0), status: EnrolmentStatus(rawValue: Int32(row.int64(1)))) }
        return EnrolmentContext(counts: counts, traineeExists: exists, existingPlace: existing)
    }

    nonisolated(nonsending) func lockPlace(enrolmentID: Int64) async throws -> LockedPlace? {
        guard
            let (programID, status) = try self.connection.one(
                "SELECT program_id, status FROM enrolment WHERE id = ?", enrolmentID,
                as: { row in (row.int64(0), EnrolmentStatus(rawValue: Int32(row.int64(1)))) }),
            let counts = try TrainingRows.counts(self.connection, programID: programID)
        else { return nil }
        return LockedPlace(programID: programID, counts: counts, status: status)
    }

    nonisolated(nonsending) func insertEnrolment(
        traineeID: Int64, programID: Int64, status: EnrolmentStatus, at time: Int64
    ) async throws -> Int64 {
        do {
            try self.connection.execute(
                "INSERT INTO enrolment (trainee_id, program_id, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
                traineeID, programID, status.rawValue, time, time)
        } catch  where error.isUniqueViolation {
            throw TrainingStoreError.duplicatePlace(cause: error)
        }
        return self.connection.lastInsertRowID
    }

    nonisolated(nonsending) func setStatus(
        _ status: EnrolmentStatus, enrolmentID: Int64, at time: Int64, certificate: String?
    ) async throws {
        try self.connection.execute(
            "UPDATE enrolment SET status = ?, updated_at = ?, certificate_id = COALESCE(?, certificate_id) WHERE id = ?",
            status.rawValue, time, certificate, enrolmentID)
    }

    nonisolated(nonsending) func lockFirstWaitlisted(programID: Int64) async throws -> Int64? {
        try self.connection.one(
            "SELECT id FROM enrolment WHERE program_id = ? AND status = ? ORDER BY id LIMIT 1", programID,
            EnrolmentStatus.waitlisted.rawValue
        ) { $0.int64(0) }
    }

    nonisolated(nonsending) func changeCounts(programID: Int64, by change: CountChange) async throws {
        try self.connection.execute(
            "UPDATE program SET enrolled = enrolled + ?, waitlisted = waitlisted + ?, completed = completed + ? WHERE id = ?",
            change.enrolled, change.waitlisted, change.completed, programID)
    }

    nonisolated(nonsending) func enrolment(id: Int64) async throws -> Enrolment? {
        try TrainingRows.enrolment(self.connection, id: id)
    }
}

/// The SQLite statements and row mappings both sides of the store share.
enum TrainingRows {
    static let programColumns = """
        id, title, field, host_centre, host_city, country, language, capacity, start_date, end_date,
        synthetic, enrolled, waitlisted, completed
        """

    static func program(_ row: SQLiteRow) -> TrainingProgram {
        TrainingProgram(
            id: TrainingID.format(TrainingID.program, row.int64(0)), title: row.text(1), field: row.text(2),
            hostCentre: row.text(3), hostCity: row.text(4), country: row.text(5), language: row.text(6),
            capacity: UInt32(row.int64(7)), startDate: row.text(8), endDate: row.text(9), synthetic: row.bool(10),
            enrolled: UInt32(row.int64(11)), waitlisted: UInt32(row.int64(12)), completed: UInt32(row.int64(13)))
    }

    static func program(_ connection: SQLiteConnection, id: Int64) throws -> TrainingProgram? {
        try connection.one("SELECT \(Self.programColumns) FROM program WHERE id = ?", id, as: Self.program)
    }

    static func insertProgram(_ program: TrainingProgram, _ connection: SQLiteConnection) throws -> TrainingProgram {
        try connection.execute(
            """
            INSERT INTO program (title, field, host_centre, host_city, country, language,
                                 capacity, start_date, end_date, synthetic)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            program.title, program.field, program.hostCentre, program.hostCity, program.country, program.language,
            program.capacity, program.startDate, program.endDate, program.synthetic)
        guard let stored = try Self.program(connection, id: connection.lastInsertRowID) else {
            throw SQLiteError(extendedCode: 1, message: "The inserted program is missing.")
        }
        return stored
    }

    static func trainee(_ connection: SQLiteConnection, id: Int64) throws -> Trainee? {
        try connection.one("SELECT id, name, country, contact, synthetic FROM trainee WHERE id = ?", id) { row in
            Trainee(
                id: TrainingID.format(TrainingID.trainee, row.int64(0)), name: row.text(1), country: row.text(2),
                contact: row.text(3), synthetic: row.bool(4))
        }
    }

    static func insertTrainee(_ trainee: Trainee, _ connection: SQLiteConnection) throws {
        try connection.execute(
            "INSERT INTO trainee (name, country, contact, synthetic) VALUES (?, ?, ?, ?)",
            trainee.name, trainee.country, trainee.contact, trainee.synthetic)
    }

    static let enrolmentColumns = "id, trainee_id, program_id, status, created_at, updated_at, certificate_id"

    static func enrolment(_ row: SQLiteRow) -> Enrolment {
        Enrolment(
            id: TrainingID.format(TrainingID.enrolment, row.int64(0)),
            traineeId: TrainingID.format(TrainingID.trainee, row.int64(1)),
            programId: TrainingID.format(TrainingID.program, row.int64(2)),
            status: EnrolmentStatus(rawValue: Int32(row.int64(3))), waitlistPosition: 0,
            createdAtUnixSeconds: row.int64(4), updatedAtUnixSeconds: row.int64(5), certificateId: row.text(6))
    }

    /// A place with its position on its program's wait-list (0 unless wait-listed).
    static func enrolment(_ connection: SQLiteConnection, id: Int64) throws -> Enrolment? {
        guard
            var enrolment = try connection.one(
                "SELECT \(Self.enrolmentColumns) FROM enrolment WHERE id = ?", id, as: Self.enrolment)
        else { return nil }
        if enrolment.status == .waitlisted,
            let programID = Int64(enrolment.programId.dropFirst(TrainingID.program.count))
        {
            enrolment.waitlistPosition = try Self.waitlisted(connection, programID: programID, upTo: id)
        }
        return enrolment
    }

    /// The wait-listed places of a program with ids up to `id`: a place's
    /// position is the places decided before it, plus one.
    static func waitlisted(_ connection: SQLiteConnection, programID: Int64, upTo id: Int64) throws -> UInt32 {
        UInt32(
            try connection.one(
                "SELECT COUNT(*) FROM enrolment WHERE program_id = ? AND status = ? AND id <= ?", programID,
                EnrolmentStatus.waitlisted.rawValue, id
            ) { $0.int64(0) } ?? 0)
    }

    static func counts(_ connection: SQLiteConnection, programID: Int64) throws -> ProgramCounts? {
        try connection.one(
            "SELECT capacity, end_date, enrolled, waitlisted, completed FROM program WHERE id = ?", programID
        ) { row in
            ProgramCounts(
                capacity: UInt32(row.int64(0)), endDate: row.text(1), enrolled: UInt32(row.int64(2)),
                waitlisted: UInt32(row.int64(3)), completed: UInt32(row.int64(4)))
        }
    }
}
