import CaravanCore

/// The public form of row ids: a kind prefix and the SQLite row id
/// (`prog-12`, `trn-7`, `enr-301`), so an id for one kind is never taken
/// for another.
public enum TrainingID {
    public static let program = "prog-"
    public static let trainee = "trn-"
    public static let enrolment = "enr-"

    public static func format(_ prefix: String, _ rowID: Int64) -> String { prefix + String(rowID) }

    /// The row id in `text`: INVALID_ARGUMENT naming `field` when empty,
    /// NOT_FOUND when it cannot name a row of this kind.
    public static func parse(_ text: String, prefix: String, field: String, kind: String) throws(RPCError) -> Int64 {
        guard !text.isEmpty else { throw RPCError.invalidArgument(field: field, "is required") }
        guard text.hasPrefix(prefix), let rowID = Int64(text.dropFirst(prefix.count)), rowID > 0 else {
            throw Self.notFound(kind: kind, field: field, id: text)
        }
        return rowID
    }

    public static func notFound(kind: String, field: String, id: String) -> RPCError {
        RPCError(code: .notFound, message: "\(field): no \(kind) with id \"\(id)\".")
    }
}
