import CaravanTrainingAPI
import Foundation
import PostgresNIO

/// The columns the PostgreSQL store selects and how a row becomes a
/// message. Decoding is by position, so one row can carry an enrolment and
/// its program side by side (a trainee's history).
enum TrainingColumns {
    static let programColumnCount = 14

    /// The program's columns, in the order ``program(_:at:)-(PostgresRandomAccessRow,_)`` reads them.
    static func program(_ table: String = "program") -> String {
        [
            "id", "title", "field", "host_centre", "host_city", "country", "language", "capacity", "start_date",
            "end_date", "synthetic", "enrolled", "waitlisted", "completed",
        ].map { "\(table).\($0)" }.joined(separator: ", ")
    }

    static func program(_ row: PostgresRandomAccessRow, at first: Int = 0) throws -> TrainingProgram {
        func column<T: PostgresDecodable>(_ offset: Int) throws -> T { try row[first + offset].decode(T.self) }
        return TrainingProgram(
            id: TrainingID.format(TrainingID.program, try column(0)),
            title: try column(1),
            field: try column(2),
            hostCentre: try column(3),
            hostCity: try column(4),
            country: try column(5),
            language: try column(6),
            capacity: UInt32(clamping: try column(7) as Int64),
            startDate: try column(8),
            endDate: try column(9),
            synthetic: try column(10),
            enrolled: UInt32(clamping: try column(11) as Int64),
            waitlisted: UInt32(clamping: try column(12) as Int64),
            completed: UInt32(clamping: try column(13) as Int64)
        )
    }

    static let trainee = "id, name, country, contact, synthetic"

    static func trainee(_ row: PostgresRandomAccessRow) throws -> Trainee {
        Trainee(
            id: TrainingID.format(TrainingID.trainee, try row[0].decode(Int64.self)),
            name: try row[1].decode(String.self),
            country: try row[2].decode(String.self),
            contact: try row[3].decode(String.self),
            synthetic: try row[4].decode(Bool.self)
        )
    }

    /// An enrolment's columns, in the order ``enrolment(_:at:waitlistPosition:)`` reads them.
    static func enrolment(_ table: String = "enrolment") -> String {
        ["id", "trainee_id", "program_id", "status", "created_at", "updated_at", "certificate_id"]
            .map { "\(table).\($0)" }.joined(separator: ", ")
    }

    /// The place's wait-list position as a column (0 unless wait-listed):
    /// the wait-listed places of its program decided before it, plus one.
    /// For one row or a few; a page counts once and adds up (listEnrolments).
    static func waitlistPosition(_ table: String = "enrolment") -> String {
        let waiting = EnrolmentStatus.waitlisted.rawValue
        return """
            CASE WHEN \(table).status = \(waiting) THEN (
                SELECT COUNT(*) FROM enrolment AS ahead
                WHERE ahead.program_id = \(table).program_id AND ahead.status = \(waiting) AND ahead.id <= \(table).id
            ) ELSE 0 END
            """
    }

    static func enrolment(_ row: PostgresRandomAccessRow, at first: Int = 0, waitlistPosition: UInt32) throws
        -> Enrolment
    {
        func column<T: PostgresDecodable>(_ offset: Int) throws -> T { try row[first + offset].decode(T.self) }
        return Enrolment(
            id: TrainingID.format(TrainingID.enrolment, try column(0)),
            traineeId: TrainingID.format(TrainingID.trainee, try column(1)),
            programId: TrainingID.format(TrainingID.program, try column(2)),
            status: EnrolmentStatus(rawValue: Int32(clamping: try column(3) as Int64)),
            waitlistPosition: waitlistPosition,
            createdAtUnixSeconds: try column(4),
            updatedAtUnixSeconds: try column(5),
            certificateId: (try column(6) as String?) ?? ""
        )
    }

    /// An enrolment followed by ``waitlistPositionColumn(_:)``.
    static func enrolmentWithPosition(_ row: PostgresRandomAccessRow, at first: Int = 0) throws -> Enrolment {
        let position = try row[first + 7].decode(Int64.self)
        return try Self.enrolment(row, at: first, waitlistPosition: UInt32(clamping: position))
    }

    static let counts = "capacity, end_date, enrolled, waitlisted, completed"

    static func counts(_ row: PostgresRow) throws -> ProgramCounts {
        let (capacity, endDate, enrolled, waitlisted, completed) = try row.decode(
            (Int64, String, Int64, Int64, Int64).self)
        return ProgramCounts(
            capacity: UInt32(clamping: capacity), endDate: endDate, enrolled: UInt32(clamping: enrolled),
            waitlisted: UInt32(clamping: waitlisted), completed: UInt32(clamping: completed))
    }
}
