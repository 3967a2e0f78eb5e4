import CaravanCore
import CaravanDomain
import CaravanTrainingAPI

/// Checks and normalises request fields. Every refusal is INVALID_ARGUMENT
/// naming the field, so a caller can fix exactly what was wrong.
public enum TrainingValidation {
    public static let maxTextLength = 200
    public static let maxCapacity: UInt32 = 100_000

    /// A required, trimmed text field: not empty, bounded, and without NUL
    /// (strings travel as C strings in protobuf-c, so a NUL would truncate).
    public static func text(_ value: String, field: String, required: Bool = true) throws(RPCError) -> String {
        let trimmed = value.trimmingWhitespace()
        if required && trimmed.isEmpty { throw RPCError.invalidArgument(field: field, "is required") }
        guard trimmed.utf8.count <= Self.maxTextLength else {
            throw RPCError.invalidArgument(field: field, "must be at most \(Self.maxTextLength) bytes")
        }
        guard !trimmed.utf8.contains(0) else { throw RPCError.invalidArgument(field: field, "must not contain NUL") }
        return trimmed
    }

    /// A BCP 47 language tag in its common shapes (`zh`, `ru`, `kk-Cyrl`, `zh-Hans-CN`).
    public static func language(_ value: String, field: String) throws(RPCError) -> String {
        let parts = value.split(separator: "-", omittingEmptySubsequences: false)
        let primaryOK =
            parts.first.map { (2...3).contains($0.count) && $0.allSatisfy { $0.isASCII && $0.isLetter } } ?? false
        let restOK = parts.dropFirst().allSatisfy {
            (1...8).contains($0.count) && $0.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) }
        }
        guard primaryOK, restOK else {
            throw RPCError.invalidArgument(
                field: field, "\"\(value)\" is not a BCP 47 language tag such as \"zh\" or \"ru\"")
        }
        return value
    }

    /// A program to create, normalised; `prefix` names the message field (`program.`).
    public static func program(_ input: TrainingProgram?, prefix: String = "program.") throws(RPCError)
        -> TrainingProgram
    {
        guard let input else { throw RPCError.invalidArgument(field: "program", "is required") }
        var program = TrainingProgram()
        program.title = try Self.text(input.title, field: prefix + "title")
        program.field = try Self.text(input.field, field: prefix + "field")
        program.hostCentre = try Self.text(input.hostCentre, field: prefix + "host_centre")
        program.hostCity = try Self.text(input.hostCity, field: prefix + "host_city")
        program.country = try CountryCode.validated(input.country, field: prefix + "country")
        program.language = try Self.language(input.language, field: prefix + "language")
        guard (1...Self.maxCapacity).contains(input.capacity) else {
            throw RPCError.invalidArgument(
                field: prefix + "capacity", "must be 1 to \(Self.maxCapacity); got \(input.capacity)")
        }
        program.capacity = input.capacity
        program.startDate = try CalendarDate.validated(input.startDate, field: prefix + "start_date")
        program.endDate = try CalendarDate.validated(input.endDate, field: prefix + "end_date")
        guard program.endDate >= program.startDate else {
            throw RPCError.invalidArgument(
                field: prefix + "end_date", "\(program.endDate) is before start_date \(program.startDate)")
        }
        program.synthetic = input.synthetic
        return program
    }

    /// A trainee to register, normalised.
    public static func trainee(_ input: Trainee?, prefix: String = "trainee.") throws(RPCError) -> Trainee {
        guard let input else { throw RPCError.invalidArgument(field: "trainee", "is required") }
        var trainee = Trainee()
        trainee.name = try Self.text(input.name, field: prefix + "name")
        trainee.country = try CountryCode.validated(input.country, field: prefix + "country")
        trainee.contact = try Self.text(input.contact, field: prefix + "contact", required: false)
        trainee.synthetic = input.synthetic
        return trainee
    }

    /// A page size: 0 takes `defaultSize`; above `maximum` is refused.
    public static func pageSize(_ value: UInt32, defaultSize: Int, maximum: Int) throws(RPCError) -> Int {
        if value == 0 { return defaultSize }
        guard value <= maximum else { throw RPCError.invalidArgument(field: "page_size", "must be at most \(maximum)") }
        return Int(value)
    }
}

extension String {
    func trimmingWhitespace() -> String {
        var scalars = Substring(self)
        while let first = scalars.first, first.isWhitespace { scalars.removeFirst() }
        while let last = scalars.last, last.isWhitespace { scalars.removeLast() }
        return String(scalars)
    }
}
