import CaravanCore
import CaravanGateway
import CaravanGatewayHTTP
import Foundation
import Logging
import NIOCore
import ServiceLifecycle
import Testing

/// Runs the HTTP door on a free loopback port over `router`, hands its
/// base URL (`http://127.0.0.1:PORT`) to `body`, then shuts it down.
func withHTTPDoor<Result: Sendable>(
    router: RPCRouter, streaming: HTTPStreamingConfiguration = .defaults,
    _ body: @Sendable (String) async throws -> Result
) async throws -> Result {
    let (addresses, listening) = AsyncStream.makeStream(of: SocketAddress.self)
    var logger = Logger(label: "caravan.gateway.http.test")
    logger.logLevel = .warning
    let application = try GatewayHTTPServer.application(
        caller: HTTPGatewayCaller(router: router), pools: [:], host: "127.0.0.1", port: 0, logger: logger,
        streaming: streaming
    ) { address in listening.yield(address) }
    let group = ServiceGroup(services: [application], logger: logger)
    return try await withThrowingTaskGroup(of: Result?.self) { tasks in
        tasks.addTask {
            try await group.run()
            return nil
        }
        var iterator = addresses.makeAsyncIterator()
        guard let address = await iterator.next(), let port = address.port else {
            throw HTTPDoorDidNotStart()
        }
        do {
            let result = try await body("http://127.0.0.1:\(port)")
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            return result
        } catch {
            tasks.cancelAll()
            throw error
        }
    }
}

struct HTTPDoorDidNotStart: Error {}

/// An HTTP response from curl: status, headers by lower-cased name, body.
struct CurlAnswer: Sendable {
    var status: Int
    var headers: [String: String]
    var body: String

    /// `-i` output: the head, a blank line, the body.
    init(_ text: String) {
        guard let split = text.range(of: "\r\n\r\n") else {
            self.init(status: 0, headers: [:], body: text)
            return
        }
        var lines = text[..<split.lowerBound].split(separator: "\r\n")
        let status = lines.isEmpty ? 0 : Int(lines.removeFirst().split(separator: " ").dropFirst().first ?? "") ?? 0
        var headers: [String: String] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(
                in: .whitespaces)
        }
        self.init(status: status, headers: headers, body: String(text[split.upperBound...]))
    }

    init(status: Int, headers: [String: String], body: String) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The body's JSON object; empty when the body is not one.
    var json: [String: Any] {
        ((try? JSONSerialization.jsonObject(with: Data(self.body.utf8))) as? [String: Any]) ?? [:]
    }
}

/// A running `curl -i -N`, writing the answer into a file of its own as
/// it arrives (no pipe: a pipe's write end, inherited by another test's
/// child process, would hold back its end of file).
final class CurlSession: Sendable {
    private let process: Process
    private let path: String

    init(_ arguments: [String]) throws {
        self.path =
            FileManager.default.temporaryDirectory.appendingPathComponent("caravan-curl-\(UUID().uuidString)").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        process.arguments = ["-s", "-i", "-N", "--max-time", "60", "-o", self.path] + arguments
        process.standardOutput = FileHandle.nullDevice
        self.process = process
        try process.run()
    }

    deinit { try? FileManager.default.removeItem(atPath: self.path) }

    var text: String { (try? String(contentsOfFile: self.path, encoding: .utf8)) ?? "" }

    /// Waits until the answer so far contains `needle`; false if curl ended without it.
    func waitFor(_ needle: String) async -> Bool {
        while self.process.isRunning {
            if self.text.contains(needle) { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return self.text.contains(needle)
    }

    /// Waits for curl to end; the whole answer.
    func answer() async -> CurlAnswer {
        while self.process.isRunning { try? await Task.sleep(for: .milliseconds(10)) }
        return CurlAnswer(self.text)
    }

    /// Closes the connection as a client going away does. SIGKILL: the
    /// test process may pass SIGTERM on ignored (signal handlers of
    /// swift-service-lifecycle set it to SIG_IGN, which exec keeps).
    func close() { kill(self.process.processIdentifier, SIGKILL) }
}

/// One request with curl, to its end.
func curl(_ arguments: [String]) async throws -> CurlAnswer {
    try await CurlSession(arguments).answer()
}
