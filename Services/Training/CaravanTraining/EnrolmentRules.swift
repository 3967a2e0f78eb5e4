import CaravanCore
import CaravanTrainingAPI

/// The enrolment rules as pure functions: what a request does to a program,
/// given only the counts and statuses it reads. The store applies the
/// answer inside one write transaction, so the counts cannot change between
/// the decision and the write.
public enum EnrolmentRules {
    /// What an accepted enrolment becomes.
    public enum Placement: Hashable, Sendable {
        /// A seat was free.
        case enrolled
        /// No seat: joins the back of the wait-list at `position` (1-based).
        case waitlisted(position: UInt32)
    }

    /// Places a new enrolment. Seats are held by ENROLLED and COMPLETED
    /// places (a trainee who completed keeps the seat they used).
    public static func place(capacity: UInt32, seatsTaken: UInt32, waitlisted: UInt32) -> Placement {
        seatsTaken < capacity ? .enrolled : .waitlisted(position: waitlisted + 1)
    }

    /// Whether a program still accepts enrolments on `today` (ISO dates
    /// compare as strings): open until its end date has passed.
    public static func acceptsEnrolment(endDate: String, today: String) -> Bool {
        endDate >= today
    }

    /// Refuses an enrolment in a program that has finished.
    public static func checkOpen(programID: String, endDate: String, today: String) throws(RPCError) {
        guard Self.acceptsEnrolment(endDate: endDate, today: today) else {
            throw RPCError(
                code: .failedPrecondition,
                message: "program_id: \(programID) finished on \(endDate); it no longer takes enrolments.")
        }
    }

    /// What a withdrawal frees.
    public enum Withdrawal: Hashable, Sendable {
        /// A seat: the first on the wait-list (if any) takes it.
        case freesSeat
        /// A wait-list slot: the places behind it move up by one.
        case leavesWaitlist
    }

    /// Withdraws a place; only ENROLLED and WAITLISTED places can be withdrawn.
    public static func withdraw(_ status: EnrolmentStatus, enrolmentID: String) throws(RPCError) -> Withdrawal {
        switch status {
        case .enrolled: return .freesSeat
        case .waitlisted: return .leavesWaitlist
        default:
            throw RPCError(
                code: .failedPrecondition,
                message:
                    "enrolment_id: \(enrolmentID) is \(Self.name(status)); only enrolled or wait-listed places can be withdrawn."
            )
        }
    }

    /// Whether the first on the wait-list is promoted after a seat is freed.
    public static func promotes(capacity: UInt32, seatsTaken: UInt32, waitlisted: UInt32) -> Bool {
        waitlisted > 0 && seatsTaken < capacity
    }

    /// Completes a place; only an ENROLLED place (one holding a seat) can complete.
    public static func checkCompletable(_ status: EnrolmentStatus, enrolmentID: String) throws(RPCError) {
        guard status == .enrolled else {
            throw RPCError(
                code: .failedPrecondition,
                message:
                    "enrolment_id: \(enrolmentID) is \(Self.name(status)); only an enrolled place can be completed.")
        }
    }

    /// A short lower-case name for messages.
    public static func name(_ status: EnrolmentStatus) -> String {
        switch status {
        case .enrolled: "enrolled"
        case .waitlisted: "wait-listed"
        case .withdrawn: "withdrawn"
        case .completed: "completed"
        default: "in status \(status.rawValue)"
        }
    }
}
