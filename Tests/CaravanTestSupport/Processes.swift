import Foundation

/// Where the package's executables were built (next to the test bundle).
public enum BuiltProducts {
    public static let directory: URL = {
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

    public static func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
}

/// The result of running a command to completion.
public struct CommandResult: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String
}

/// One run of a program. Its output is kept as it arrives and its exit is
/// signalled, so a test waits for a line or for the exit itself instead
/// of polling.
public final class ChildProcess: Sendable {
    /// What the process has written so far, and how it ended.
    public struct State: Sendable, CustomStringConvertible {
        public var stdout = ""
        public var stderr = ""
        /// The exit status (or the signal that ended it); nil while it runs.
        public var status: Int32?
        var openPipes: Int

        /// Exited, with everything it wrote read.
        public var finished: Bool { self.status != nil && self.openPipes == 0 }

        public var description: String {
            "status \(self.status.map(String.init) ?? "running"); output:\n\(self.stdout)\(self.stderr)"
        }
    }

    /// Where standard error goes.
    public enum StandardError: Sendable {
        /// Kept apart from standard output.
        case kept
        /// Into the same text as standard output (a server's log).
        case merged
        /// Nowhere (a program whose helpers keep it open after it exits).
        case discarded
    }

    public let process: Process
    public let state: Watched<State>

    public init(
        path: String, arguments: [String], stdin: String? = nil, standardError: StandardError = .kept,
        environment: [String: String]? = nil
    ) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        if let environment { process.environment = environment }
        let out = Pipe()
        process.standardOutput = out
        let state = Watched(State(openPipes: standardError == .kept ? 2 : 1))
        Self.read(out) { text in
            state.update { $0.stdout += text }
        } atEnd: {
            state.update { $0.openPipes -= 1 }
        }
        switch standardError {
        case .kept:
            let err = Pipe()
            process.standardError = err
            Self.read(err) { text in
                state.update { $0.stderr += text }
            } atEnd: {
                state.update { $0.openPipes -= 1 }
            }
        case .merged:
            process.standardError = out
        case .discarded:
            process.standardError = FileHandle.nullDevice
        }
        let input = Pipe()
        process.standardInput = input
        process.terminationHandler = { process in
            let status = process.terminationStatus
            state.update { $0.status = status }
        }
        try process.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try input.fileHandleForWriting.close()
        self.process = process
        self.state = state
    }

    /// Everything written to standard output (and, merged, standard error) so far.
    public var output: String { self.state.value.stdout }

    public var isRunning: Bool { self.state.value.status == nil }

    /// Hands `pipe`'s text to `append` as it arrives, and calls `atEnd` at
    /// its end. The reads block, so they run on a thread of their own, never
    /// on the cooperative pool (one thread per core: a blocked read there
    /// starves every other test running meanwhile).
    private static func read(
        _ pipe: Pipe, _ append: @escaping @Sendable (String) -> Void, atEnd: @escaping @Sendable () -> Void
    ) {
        let handle = pipe.fileHandleForReading
        Thread.detachNewThread {
            var pending: [UInt8] = []
            while true {
                let data = handle.availableData
                if data.isEmpty { break }
                pending += data
                // A character may be split between two reads: keep its first bytes for the next.
                let complete = Self.completeUTF8Prefix(pending)
                append(String(decoding: pending[..<complete], as: UTF8.self))
                pending.removeFirst(complete)
            }
            if !pending.isEmpty { append(String(decoding: pending, as: UTF8.self)) }
            atEnd()
        }
    }

    /// How many of `bytes` end on a character boundary.
    static func completeUTF8Prefix(_ bytes: [UInt8]) -> Int {
        // A sequence's first byte is 0xxxxxxx or 11xxxxxx; 10xxxxxx continues one.
        var start = bytes.count
        while start > 0, bytes.count - start < 4 {
            start -= 1
            let byte = bytes[start]
            guard byte & 0b1100_0000 == 0b1000_0000 else {
                let length = byte < 0x80 ? 1 : byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : 2
                return bytes.count - start >= length ? bytes.count : start
            }
        }
        return bytes.count
    }

    /// Waits until the process has exited and its output is read; kills it
    /// (and throws) when that takes longer than `timeout`.
    @discardableResult
    public func finish(timeout: Duration = .seconds(120)) async throws -> CommandResult {
        do {
            let state = try await self.state.wait(
                for: "\(self.process.executableURL?.lastPathComponent ?? "the process") to finish",
                until: \.finished, timeout: timeout)
            return CommandResult(status: state.status ?? -1, stdout: state.stdout, stderr: state.stderr)
        } catch {
            self.signal(SIGKILL)
            throw error
        }
    }

    /// Waits until the standard output (merged: the log) satisfies `condition`,
    /// or the process exits first (then throws with its output).
    @discardableResult
    public func waitForOutput(
        _ what: @autoclosure () -> String, timeout: Duration = .seconds(60),
        until condition: @escaping @Sendable (String) -> Bool
    ) async throws -> String {
        let state = try await self.state.wait(
            for: what(), until: { condition($0.stdout) || $0.finished }, timeout: timeout)
        guard condition(state.stdout) else { throw ProcessEndedEarly(waitingFor: what(), state: state) }
        return state.stdout
    }

    /// The rest of the line after the first "`marker`" in the output, once it has been written.
    public func text(after marker: String, timeout: Duration = .seconds(60)) async throws -> String {
        let output = try await self.waitForOutput("a line with \"\(marker)\"", timeout: timeout) {
            Self.line(after: marker, in: $0) != nil
        }
        return Self.line(after: marker, in: output)!
    }

    static func line(after marker: String, in text: String) -> String? {
        guard let range = text.range(of: marker) else { return nil }
        let rest = text[range.upperBound...]
        guard let end = rest.firstIndex(of: "\n") else { return nil }
        return rest[..<end].trimmingCharacters(in: .whitespaces)
    }

    public func signal(_ signal: Int32) {
        if self.isRunning { kill(self.process.processIdentifier, signal) }
    }

    deinit {
        if self.isRunning { kill(self.process.processIdentifier, SIGKILL) }
    }
}

public struct ProcessEndedEarly: Error, CustomStringConvertible {
    public var waitingFor: String
    public var state: ChildProcess.State
    public var description: String { "The process ended while the test waited for \(self.waitingFor): \(self.state)" }
}

/// Runs one of the package's executables to completion.
public func runCommand(
    _ executable: String, _ arguments: [String], stdin: String? = nil, timeout: Duration = .seconds(120)
) async throws -> CommandResult {
    try await runProgram(BuiltProducts.path(executable), arguments, stdin: stdin, timeout: timeout)
}

/// Runs any program to completion.
public func runProgram(
    _ path: String, _ arguments: [String], stdin: String? = nil, standardError: ChildProcess.StandardError = .kept,
    timeout: Duration = .seconds(120)
) async throws -> CommandResult {
    try await ChildProcess(path: path, arguments: arguments, stdin: stdin, standardError: standardError)
        .finish(timeout: timeout)
}

/// A long-running executable of the package (a server) started for a test.
public final class ServerProcess: Sendable {
    public let child: ChildProcess
    /// The address from its "… listening on HOST:PORT" line.
    public let address: String

    /// Starts `executable` and waits for its "listening on" line.
    public init(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil,
        timeout: Duration = .seconds(60)
    ) async throws {
        self.child = try ChildProcess(
            path: BuiltProducts.path(executable), arguments: arguments, standardError: .merged, environment: environment
        )
        self.address = try await self.child.text(after: "listening on ", timeout: timeout)
    }

    public var process: Process { self.child.process }

    /// Standard output and error so far.
    public var log: String { self.child.output }

    /// The rest of the line after "`marker`" in the log, once the server has written it.
    public func announced(_ marker: String, timeout: Duration = .seconds(60)) async throws -> String {
        try await self.child.text(after: marker, timeout: timeout)
    }

    /// Waits until the log satisfies `condition`.
    @discardableResult
    public func waitForLog(
        _ what: @autoclosure () -> String, timeout: Duration = .seconds(60),
        until condition: @escaping @Sendable (String) -> Bool
    ) async throws -> String {
        try await self.child.waitForOutput(what(), timeout: timeout, until: condition)
    }

    /// Stops the process (SIGSTOP) and returns once every thread of it has
    /// stopped. kill(2) returns before that: the kernel stops a
    /// multi-threaded process when one thread it picked next runs, and on a
    /// loaded machine another thread can meanwhile go on answering calls.
    public func pause() async throws {
        let pid = self.process.processIdentifier
        kill(pid, SIGSTOP)
        guard try await eventually(timeout: .seconds(30), every: .milliseconds(1), { Self.isStopped(pid) }) else {
            throw ProcessDidNotStop(pid: pid)
        }
    }

    /// Lets a paused process go on (SIGCONT).
    public func resume() { kill(self.process.processIdentifier, SIGCONT) }

    /// Whether every thread of `pid` is stopped, from /proc/PID/task/*/stat
    /// ("tid (name) STATE …").
    static func isStopped(_ pid: Int32) -> Bool {
        guard let threads = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task"),
            !threads.isEmpty
        else { return false }
        return threads.allSatisfy { thread in
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/task/\(thread)/stat", encoding: .utf8),
                let nameEnd = stat.lastIndex(of: ")")
            else { return false }
            return stat[nameEnd...].dropFirst(2).first == "T"
        }
    }

    /// Sends `signal` and waits for the exit; returns the exit status. A
    /// server that outlives `timeout` is killed and the wait throws.
    public func stop(signal: Int32 = SIGTERM, timeout: Duration = .seconds(60)) async throws -> Int32 {
        self.child.signal(signal)
        return try await self.child.finish(timeout: timeout).status
    }
}

/// A paused process still had a running thread after the guard time.
public struct ProcessDidNotStop: Error {
    public let pid: Int32
}
