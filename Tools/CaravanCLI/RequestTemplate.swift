import Foundation

/// A JSON request with placeholders, rendered afresh for every call so that
/// writes under load do not collide.
///
/// Placeholders: `{{n}}` the request number (0, 1, …), `{{worker}}` the
/// worker number, `{{uuid}}` a random UUID, `{{now}}` Unix seconds,
/// `{{now_ms}}` Unix milliseconds, `{{pick a|b|c}}` one of the listed
/// values at random, `{{rand LO HI}}` a random integer in LO...HI.
/// In a scenario, `{{use NAME}}` is a value an earlier call captured (kept
/// for later calls) and `{{take NAME}}` one it captured, used up (each
/// value goes to one call only).
public struct RequestTemplate: Sendable {
    enum Part: Sendable, Equatable {
        case text(String)
        case number
        case worker
        case uuid
        case now
        case nowMillis
        case pick([String])
        case random(ClosedRange<Int>)
        case captured(PoolRead)
    }

    /// A read of a pool of captured values.
    public struct PoolRead: Sendable, Hashable {
        public var pool: String
        /// `take` (the value is used up) rather than `use`.
        public var consumes: Bool
    }

    let parts: [Part]

    /// Whether the text has any placeholder (a constant request is encoded once).
    public var isConstant: Bool { self.parts.allSatisfy { if case .text = $0 { return true } else { return false } } }

    /// The pools this template reads, each once, in order of appearance.
    public var poolReads: [PoolRead] {
        var reads: [PoolRead] = []
        for case .captured(let read) in self.parts where !reads.contains(read) { reads.append(read) }
        return reads
    }

    public init(_ text: String) throws {
        var parts: [Part] = []
        var rest = Substring(text)
        while let open = rest.range(of: "{{") {
            if open.lowerBound > rest.startIndex { parts.append(.text(String(rest[..<open.lowerBound]))) }
            guard let close = rest[open.upperBound...].range(of: "}}") else {
                throw TemplateError("Unclosed '{{' in the request template.")
            }
            parts.append(
                try Self.placeholder(rest[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespaces)))
            rest = rest[close.upperBound...]
        }
        if !rest.isEmpty { parts.append(.text(String(rest))) }
        self.parts = parts
    }

    private static func placeholder(_ body: String) throws -> Part {
        let words = body.split(separator: " ", maxSplits: 1).map(String.init)
        switch words.first ?? "" {
        case "n": return .number
        case "worker": return .worker
        case "uuid": return .uuid
        case "now": return .now
        case "now_ms": return .nowMillis
        case "pick":
            let choices = (words.count > 1 ? words[1] : "").split(separator: "|").map(String.init)
            guard !choices.isEmpty else { throw TemplateError("{{pick}} needs values: {{pick a|b|c}}.") }
            return .pick(choices)
        case "rand":
            let bounds = (words.count > 1 ? words[1] : "").split(separator: " ").compactMap { Int($0) }
            guard bounds.count == 2, bounds[0] <= bounds[1] else {
                throw TemplateError("{{rand}} needs two integers LO HI with LO <= HI.")
            }
            return .random(bounds[0]...bounds[1])
        case "use", "take":
            let pool = words.count > 1 ? words[1].trimmingCharacters(in: .whitespaces) : ""
            guard !pool.isEmpty, !pool.contains(" ") else {
                throw TemplateError("{{\(words[0])}} needs the name of a captured value: {{\(words[0]) shipment}}.")
            }
            return .captured(PoolRead(pool: pool, consumes: words[0] == "take"))
        default:
            throw TemplateError(
                "Unknown placeholder '{{\(body)}}'; known: n, worker, uuid, now, now_ms, pick, rand, use, take.")
        }
    }

    /// The request text for call `number` made by `worker`; `captured`
    /// holds a value for each pool in ``poolReads`` (missing ones render empty).
    public func render(number: Int, worker: Int, captured: [String: String] = [:]) -> String {
        var output = ""
        for part in self.parts {
            switch part {
            case .text(let text): output += text
            case .number: output += String(number)
            case .worker: output += String(worker)
            case .uuid: output += UUID().uuidString.lowercased()
            case .now: output += String(Int(Date().timeIntervalSince1970))
            case .nowMillis: output += String(Int(Date().timeIntervalSince1970 * 1000))
            case .pick(let choices): output += choices.randomElement()!
            case .random(let range): output += String(Int.random(in: range))
            case .captured(let read): output += captured[read.pool] ?? ""
            }
        }
        return output
    }
}

/// A request template that cannot be parsed.
public struct TemplateError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
