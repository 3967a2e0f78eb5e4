import CaravanPostgres
import CaravanTrainingAPI
import Logging
import PostgresNIO

/// The PostgreSQL store's reads: pooled connections in autocommit, one
/// statement wherever the parts of an answer must agree.
extension PostgresTrainingStore {
    public func program(id: Int64) async throws -> TrainingProgram? {
        try await self.pool.read { connection, logger in
            let rows = try await connection.query(
                "SELECT \(unescaped: Self.programColumns()) FROM program WHERE id = \(id)", logger: logger
            ).collect()
            return try rows.first.map { try Self.program($0.makeRandomAccess()) }
        }
    }

    public func listPrograms(_ query: ProgramQuery) async throws -> [TrainingProgram] {
        var statement = PostgresStatement("SELECT \(Self.programColumns()) FROM program WHERE TRUE")
        if let country = query.country { statement.append(" AND country = ?", country) }
        // host_city and field compare case-insensitively (caravan_nocase).
        if let city = query.hostCity { statement.append(" AND host_city = ?", city) }
        if let field = query.field { statement.append(" AND field = ?", field) }
        if let today = query.openOn { statement.append(" AND end_date >= ?", today) }
        if let after = query.afterID { statement.append(" AND id > ?", after) }
        statement.append(" ORDER BY id LIMIT ?", Int64(query.limit))
        let sql = statement.query
        return try await self.pool.read { connection, logger in
            try await connection.query(sql, logger: logger).collect().map { try Self.program($0.makeRandomAccess()) }
        }
    }

    public func trainee(id: Int64) async throws -> Trainee? {
        try await self.pool.read { connection, logger in
            try await Self.fetchTrainee(connection, id: id, logger: logger)
        }
    }

    static func fetchTrainee(_ connection: PostgresConnection, id: Int64, logger: Logger) async throws -> Trainee? {
        let rows = try await connection.query(
            "SELECT \(unescaped: Self.traineeColumns) FROM trainee WHERE id = \(id)", logger: logger
        ).collect()
        return try rows.first.map { try Self.trainee($0.makeRandomAccess()) }
    }

    public func listEnrolments(programID: Int64, status: EnrolmentStatus?, afterID: Int64?, limit: Int) async throws
        -> [Enrolment]?
    {
        let waiting = Int64(EnrolmentStatus.waitlisted.rawValue)
        let after = afterID ?? 0
        // The page and the count of places wait-listed before it come from
        // one statement, so they agree even while places change.
        var statement = PostgresStatement("SELECT \(Self.enrolmentColumns()), ")
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
            let known = try await connection.query(
                "SELECT EXISTS (SELECT 1 FROM program WHERE id = \(programID))", logger: logger
            ).collect()
            guard try known.first?.decode(Bool.self) == true else { return nil }
            let rows = try await connection.query(sql, logger: logger).collect().map { $0.makeRandomAccess() }
            // Positions count up from those wait-listed before the page.
            var position = try rows.first.map { UInt32(clamping: try $0[7].decode(Int64.self)) } ?? 0
            return try rows.map { row in
                guard try row[3].decode(Int64.self) == waiting else {
                    return try Self.enrolment(row, waitlistPosition: 0)
                }
                position += 1
                return try Self.enrolment(row, waitlistPosition: position)
            }
        }
    }

    // MARK: Statistics and history

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
                    syntheticPrograms: UInt32(clamping: synthetic)
                ).withCompletionRate()
            }
        }
    }

    public func history(traineeID: Int64) async throws -> TraineeHistoryResponse? {
        try await self.pool.read { connection, logger in
            // A trainee never changes once registered; the places and their
            // programs come from one statement.
            guard let trainee = try await Self.fetchTrainee(connection, id: traineeID, logger: logger) else {
                return nil
            }
            let rows = try await connection.query(
                """
                SELECT \(unescaped: Self.enrolmentColumns("e")), \(unescaped: Self.waitlistPositionColumn("e")),
                       \(unescaped: Self.programColumns("p"))
                FROM enrolment AS e JOIN program AS p ON p.id = e.program_id
                WHERE e.trainee_id = \(traineeID) ORDER BY e.id
                """, logger: logger
            ).collect()
            let entries = try rows.map { row in
                let row = row.makeRandomAccess()
                return TraineeHistoryEntry(
                    enrolment: try Self.enrolmentWithPosition(row), program: try Self.program(row, at: 8))
            }
            return TraineeHistoryResponse(trainee: trainee, entries: entries)
        }
    }
}
