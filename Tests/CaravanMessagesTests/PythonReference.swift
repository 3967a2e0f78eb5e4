import CaravanTestSupport
import Foundation

/// Runs `Tests/Python/protobuf_reference.py` (Google's protobuf runtime)
/// and returns its encodings by case name.
///
/// Missing python3 or protoc make the calling test fail, not skip: CI
/// installs both, and a silently skipped comparison proves nothing.
enum PythonReference {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// The repository root (this file is Tests/CaravanMessagesTests/…).
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static let script = root.appendingPathComponent("Tests/Python/protobuf_reference.py")

    /// The encodings of `Tests/Python/reference_cases.json`, computed once.
    static let fixedCases = Task { try await run(arguments: []) }

    /// Encodings of the cases in `casesJSON` (the reference_cases.json format).
    static func encode(casesJSON: Data) async throws -> [String: [UInt8]] {
        try await withTemporaryDirectory("reference") { directory in
            let file = directory + "/cases.json"
            try casesJSON.write(to: URL(fileURLWithPath: file))
            return try await run(arguments: ["--cases", file])
        }
    }

    static func run(arguments: [String]) async throws -> [String: [UInt8]] {
        let result = try await runProgram("/usr/bin/env", ["python3", script.path] + arguments)
        guard result.status == 0 else {
            throw Failure(
                description:
                    "protobuf_reference.py exited with \(result.status) (is python3/protoc installed?):\n\(result.stderr)"
            )
        }
        var encodings: [String: [UInt8]] = [:]
        for line in result.stdout.split(separator: "\n") {
            let parts = line.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false)
            let hex = parts.count == 2 ? parts[1] : ""
            guard let bytes = bytes(hex: hex) else {
                throw Failure(description: "unexpected line from protobuf_reference.py: \(line)")
            }
            encodings[String(parts[0])] = bytes
        }
        return encodings
    }

    static func bytes(hex: Substring) -> [UInt8]? {
        let digits = Array(hex.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var result: [UInt8] = []
        result.reserveCapacity(digits.count / 2)
        var index = 0
        while index < digits.count {
            guard let high = nibble(digits[index]), let low = nibble(digits[index + 1]) else { return nil }
            result.append(high << 4 | low)
            index += 2
        }
        return result
    }

    private static func nibble(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return digit - UInt8(ascii: "a") + 10
        default: return nil
        }
    }
}

extension Array where Element == UInt8 {
    var hex: String { self.map { String(format: "%02x", $0) }.joined() }
}
