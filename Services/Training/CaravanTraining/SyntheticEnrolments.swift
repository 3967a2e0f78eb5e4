import CaravanCore
import CaravanDomain
import CaravanTrainingAPI

/// Generated enrolments for benchmarks: each a new synthetic trainee
/// (``SyntheticTrainees``) enrolled through ``TrainingWorkflow``, so seats,
/// wait-lists and counters follow the rules, into the programs still open,
/// in turn.
public enum SyntheticEnrolments {
    /// Places per transaction. Each place is several statements, one round
    /// trip each on PostgreSQL, and a transaction must end within the
    /// store's call timeout: a thousand places (about 5,000 round trips)
    /// took over 30 s on a busy machine and were refused; a hundred keep a
    /// transaction to about a second.
    static let batch = 100

    /// Writes `count` trainees and their enrolments; answers how many took
    /// a seat (the rest are wait-listed).
    @discardableResult
    public static func generate(count: Int, into store: any TrainingStore, now: Int64) async throws -> Int {
        let today = CalendarDate.utc(secondsSince1970: now)
        let programs = try await store.listPrograms(ProgramQuery(openOn: today, limit: 500)).compactMap {
            Int64($0.id.dropFirst(TrainingID.program.count))
        }
        guard !programs.isEmpty else {
            throw RPCError(
                code: .failedPrecondition, message: "No program is open on \(today) to enrol synthetic trainees in.")
        }
        var written = 0
        var seated = 0
        while written < count {
            let trainees = SyntheticTrainees.make(count: min(Self.batch, count - written), startingAt: written + 1)
            let first = written
            seated += try await store.write { transaction in
                var seated = 0
                for (offset, trainee) in trainees.enumerated() {
                    let stored = try await transaction.insertTrainee(trainee)
                    guard let traineeID = Int64(stored.id.dropFirst(TrainingID.trainee.count)) else { continue }
                    let response = try await TrainingWorkflow.enrol(
                        traineeID: traineeID, programID: programs[(first + offset) % programs.count], today: today,
                        now: now, write: IdempotentWrite(key: nil, method: "", request: []), in: transaction)
                    if response.enrolment?.status == .enrolled { seated += 1 }
                }
                return seated
            }
            written += trainees.count
        }
        return seated
    }
}
