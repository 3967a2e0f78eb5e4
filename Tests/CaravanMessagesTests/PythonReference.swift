import Foundation
import Synchronization

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
    static let fixedCases: Result<[String: [UInt8]], Failure> = Result { () throws(Failure) in
        try run(arguments: [])
    }

    /// Encodings of the cases in `casesJSON` (the reference_cases.json format).
    static func encode(casesJSON: Data) throws(Failure) -> [String: [UInt8]] {
        let file = FileManager.default.temporaryDirectory
            .appendingPathComponent("caravan-reference-\(UUID().uuidString).json")
        do {
            try casesJSON.write(to: file)
        } catch {
            throw Failure(description: "cannot write \(file.path): \(error)")
        }
        defer { try? FileManager.default.removeItem(at: file) }
        return try run(arguments: ["--cases", file.path])
    }

    static func run(arguments: [String]) throws(Failure) -> [String: [UInt8]] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script.path] + arguments
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        do {
            try process.run()
        } catch {
            throw Failure(description: "cannot start python3 \(script.path): \(error)")
        }
        // Read both pipes before waiting, so a chatty pip cannot block it.
        let errorData = ReadInBackground(errors.fileHandleForReading)
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let stderr = String(decoding: errorData.wait(), as: UTF8.self)
        guard process.terminationStatus == 0 else {
            throw Failure(description: "protobuf_reference.py exited with \(process.terminationStatus) (is python3/protoc installed?):\n\(stderr)")
        }
        var result: [String: [UInt8]] = [:]
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
            let parts = line.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false)
            let hex = parts.count == 2 ? parts[1] : ""
            guard let bytes = bytes(hex: hex) else {
                throw Failure(description: "unexpected line from protobuf_reference.py: \(line)")
            }
            result[String(parts[0])] = bytes
        }
        return result
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

/// Drains a pipe on another thread.
private final class ReadInBackground: Sendable {
    private let done = DispatchSemaphore(value: 0)
    private let box = DataBox()

    init(_ handle: FileHandle) {
        let box = self.box
        let done = self.done
        Thread.detachNewThread {
            box.set(handle.readDataToEndOfFile())
            done.signal()
        }
    }

    func wait() -> Data {
        self.done.wait()
        return self.box.get()
    }
}

private final class DataBox: Sendable {
    private let data = Mutex(Data())

    func set(_ data: Data) { self.data.withLock { $0 = data } }
    func get() -> Data { self.data.withLock { $0 } }
}

extension Array where Element == UInt8 {
    var hex: String { self.map { String(format: "%02x", $0) }.joined() }
}
