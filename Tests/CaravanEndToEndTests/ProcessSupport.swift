import Foundation
import Synchronization
import Testing

/// Where the package's executables were built (next to the test bundle).
enum BuiltProducts {
    static let directory: URL = {
        if let override = ProcessInfo.processInfo.environment["CARAVAN_BIN_DIR"] {
            return URL(fileURLWithPath: override)
        }
        var url = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.isExecutableFile(atPath: url.appendingPathComponent("caravan").path) {
                return url
            }
        }
        return URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(".build/debug")
    }()

    static func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
}

/// The result of running a command to completion.
struct CommandResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs an executable to completion (killed after `timeout`).
func runCommand(
    _ executable: String,
    _ arguments: [String],
    stdin: String? = nil,
    timeout: Duration = .seconds(60)
) async throws -> CommandResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: BuiltProducts.path(executable))
    process.arguments = arguments
    let out = Pipe()
    let err = Pipe()
    let input = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = input
    try process.run()
    if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
    try input.fileHandleForWriting.close()
    // Read both pipes as data arrives, so neither fills up and blocks the child.
    async let stdout = readToEnd(out)
    async let stderr = readToEnd(err)
    let deadline = ContinuousClock.now.advanced(by: timeout)
    while process.isRunning {
        if ContinuousClock.now > deadline {
            process.terminate()
            Issue.record("\(executable) \(arguments) did not finish within \(timeout)")
            break
        }
        try await Task.sleep(for: .milliseconds(20))
    }
    await waitForExit(process)
    return CommandResult(
        status: process.terminationStatus,
        stdout: String(decoding: await stdout, as: UTF8.self),
        stderr: String(decoding: await stderr, as: UTF8.self)
    )
}

/// A long-running executable (a server) started for a test.
final class ServerProcess: Sendable {
    let process: Process
    let address: String
    private let output: SharedText

    /// Starts `executable` and waits for a line "… listening on HOST:PORT".
    init(_ executable: String, _ arguments: [String], timeout: Duration = .seconds(30)) async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: BuiltProducts.path(executable))
        process.arguments = arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = out
        let output = SharedText()
        out.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if !data.isEmpty { output.append(String(decoding: data, as: UTF8.self)) }
        }
        try process.run()
        self.process = process
        self.output = output
        let deadline = ContinuousClock.now.advanced(by: timeout)
        var found: String?
        while found == nil {
            let text = output.text
            if let range = text.range(of: "listening on ") {
                let rest = text[range.upperBound...]
                if let end = rest.firstIndex(where: { $0 == "\n" }) { found = String(rest[..<end]) }
            }
            if found == nil {
                guard process.isRunning, ContinuousClock.now < deadline else {
                    process.terminate()
                    throw ServerDidNotStart(output: text)
                }
                try await Task.sleep(for: .milliseconds(20))
            }
        }
        self.address = found!.trimmingCharacters(in: .whitespaces)
    }

    var log: String { self.output.text }

    /// Sends SIGTERM and waits for exit; returns the exit status.
    func stop(signal: Int32 = SIGTERM, timeout: Duration = .seconds(20)) async throws -> Int32 {
        kill(self.process.processIdentifier, signal)
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while self.process.isRunning {
            guard ContinuousClock.now < deadline else {
                kill(self.process.processIdentifier, SIGKILL)
                throw ServerDidNotStop(output: self.log)
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        return self.process.terminationStatus
    }

    deinit {
        if self.process.isRunning { kill(self.process.processIdentifier, SIGKILL) }
    }
}

struct ServerDidNotStart: Error, CustomStringConvertible {
    var output: String
    var description: String { "The server did not report its address. Output:\n\(self.output)" }
}

struct ServerDidNotStop: Error, CustomStringConvertible {
    var output: String
    var description: String { "The server did not stop after the signal. Output:\n\(self.output)" }
}

/// Text several threads append to.
final class SharedText: Sendable {
    private let storage = Mutex("")
    func append(_ text: String) { self.storage.withLock { $0 += text } }
    var text: String { self.storage.withLock { $0 } }
}

/// Reads a pipe until its end on a thread of its own, not on a Swift
/// concurrency thread (the cooperative pool has one thread per core; a
/// blocking read there starves every other test running meanwhile).
func readToEnd(_ pipe: Pipe) async -> Data {
    let handle = pipe.fileHandleForReading
    return await withCheckedContinuation { continuation in
        Thread.detachNewThread {
            continuation.resume(returning: handle.readDataToEndOfFile())
        }
    }
}

/// Waits for a process to exit without blocking a thread.
func waitForExit(_ process: Process) async {
    while process.isRunning {
        try? await Task.sleep(for: .milliseconds(10))
    }
    process.waitUntilExit()  // returns at once now; settles terminationStatus
}

/// An HTTP answer from curl: status (0 when no answer came), headers by
/// lower-cased name, body.
struct HTTPAnswer {
    var status: Int
    var headers: [String: String]
    var body: String
}

/// curl with the response headers (`-i`), for the HTTP doors' tests.
func curlWithHeaders(_ arguments: [String]) async throws -> HTTPAnswer {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
    process.arguments = ["-s", "-i", "--max-time", "10"] + arguments
    let out = Pipe()
    process.standardOutput = out
    try process.run()
    let text = String(decoding: await readToEnd(out), as: UTF8.self)
    await waitForExit(process)
    guard let split = text.range(of: "\r\n\r\n") else { return HTTPAnswer(status: 0, headers: [:], body: text) }
    var lines = text[..<split.lowerBound].split(separator: "\r\n")
    let status = lines.isEmpty ? 0 : Int(lines.removeFirst().split(separator: " ").dropFirst().first ?? "") ?? 0
    var headers: [String: String] = [:]
    for line in lines {
        guard let colon = line.firstIndex(of: ":") else { continue }
        headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
    }
    return HTTPAnswer(status: status, headers: headers, body: String(text[split.upperBound...]))
}
