import CaravanCore
import CaravanTraining
import CaravanTrainingAPI
import Testing

@Suite("Enrolment rules (pure)", .timeLimit(.minutes(1)))
struct EnrolmentRulesTests {
    @Test("a seat while seats remain, else the back of the wait-list")
    func placement() {
        #expect(EnrolmentRules.place(capacity: 3, seatsTaken: 0, waitlisted: 0) == .enrolled)
        #expect(EnrolmentRules.place(capacity: 3, seatsTaken: 2, waitlisted: 0) == .enrolled)
        #expect(EnrolmentRules.place(capacity: 3, seatsTaken: 3, waitlisted: 0) == .waitlisted(position: 1))
        #expect(EnrolmentRules.place(capacity: 3, seatsTaken: 3, waitlisted: 4) == .waitlisted(position: 5))
    }

    @Test("only enrolled or wait-listed places can be withdrawn")
    func withdrawal() throws {
        #expect(try EnrolmentRules.withdraw(.enrolled, enrolmentID: "enr-1") == .freesSeat)
        #expect(try EnrolmentRules.withdraw(.waitlisted, enrolmentID: "enr-1") == .leavesWaitlist)
        for status in [EnrolmentStatus.withdrawn, .completed, .unspecified] {
            #expect(throws: RPCError.self) { try EnrolmentRules.withdraw(status, enrolmentID: "enr-1") }
        }
    }

    @Test("promotion needs a free seat and someone waiting")
    func promotion() {
        #expect(EnrolmentRules.promotes(capacity: 2, seatsTaken: 1, waitlisted: 3))
        #expect(!EnrolmentRules.promotes(capacity: 2, seatsTaken: 1, waitlisted: 0))
        #expect(!EnrolmentRules.promotes(capacity: 2, seatsTaken: 2, waitlisted: 3))
    }

    @Test("only an enrolled place completes")
    func completion() throws {
        try EnrolmentRules.checkCompletable(.enrolled, enrolmentID: "enr-1")
        do {
            try EnrolmentRules.checkCompletable(.waitlisted, enrolmentID: "enr-1")
            Issue.record("a wait-listed place completed")
        } catch {
            #expect(error.code == .failedPrecondition)
        }
    }

    @Test("enrolment closes once the end date has passed")
    func calendar() {
        #expect(EnrolmentRules.acceptsEnrolment(endDate: "2027-06-30", today: "2027-06-30"))
        #expect(!EnrolmentRules.acceptsEnrolment(endDate: "2027-06-30", today: "2027-07-01"))
    }

    @Test("calendar dates: validation and UTC conversion")
    func dates() {
        #expect(CalendarDate.isValid("2024-02-29"))
        #expect(!CalendarDate.isValid("2023-02-29"))
        #expect(!CalendarDate.isValid("2027-13-01"))
        #expect(!CalendarDate.isValid("2027-1-01"))
        #expect(!CalendarDate.isValid("27-01-01xx"))
        #expect(CalendarDate.utc(secondsSince1970: 0) == "1970-01-01")
        #expect(CalendarDate.utc(secondsSince1970: TestClock.january2027) == "2027-01-15")
        #expect(CalendarDate.utc(secondsSince1970: 951_782_400) == "2000-02-29")
    }
}
