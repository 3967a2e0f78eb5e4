/// The counts an enrolment decision needs, read from the program row
/// inside the write transaction (under its lock, on PostgreSQL).
public struct ProgramCounts: Sendable, Equatable {
    public var capacity: UInt32
    public var endDate: String
    public var enrolled: UInt32
    public var waitlisted: UInt32
    public var completed: UInt32
    /// Seats are held by enrolled and completed places.
    public var seatsTaken: UInt32 { self.enrolled + self.completed }

    public init(capacity: UInt32, endDate: String, enrolled: UInt32, waitlisted: UInt32, completed: UInt32) {
        self.capacity = capacity
        self.endDate = endDate
        self.enrolled = enrolled
        self.waitlisted = waitlisted
        self.completed = completed
    }
}
