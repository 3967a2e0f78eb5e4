/// The counts an enrolment decision needs, read from the program row
/// inside the write transaction (under its lock, on PostgreSQL).
struct ProgramCounts: Sendable {
    var capacity: UInt32
    var endDate: String
    var enrolled: UInt32
    var waitlisted: UInt32
    var completed: UInt32
    /// Seats are held by enrolled and completed places.
    var seatsTaken: UInt32 { self.enrolled + self.completed }
}
