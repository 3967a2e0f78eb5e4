import Foundation
import Synchronization
import Testing

/// Headless Chromium driven over the DevTools protocol on a pipe
/// (`--remote-debugging-pipe`: the browser reads commands on its fd 3 and
/// writes answers and events on its fd 4, each a JSON object ended by NUL),
/// so tests can load a page, wait for what it shows, act on it and take
/// screenshots, without a WebSocket client or a driver binary.
final class HeadlessBrowser: Sendable {
    /// Debian's Chromium, which Tests/run.sh installs; nil when absent.
    static var executable: String? {
        ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first(where: FileManager.default.isExecutableFile)
    }

    /// The browser for a test: nil when it is not installed, which is a
    /// failure in CI (Tests/run.sh installs it) and a skip elsewhere.
    static func forTest() -> String? {
        if let executable = Self.executable { return executable }
        if ProcessInfo.processInfo.environment["CI"] != nil {
            Issue.record("Chromium is not installed; Tests/run.sh installs it for the browser checks.")
        }
        return nil
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    private struct State {
        var nextID = 1
        var waiting: [Int: CheckedContinuation<Data, any Error>] = [:]
        var closed = false
    }

    private let process: Process
    private let commands: FileHandle
    private let profile: String
    private let state = Mutex(State())

    /// Starts the browser (killed by `close()` or when this object goes).
    init(executable: String) throws {
        self.profile =
            FileManager.default.temporaryDirectory
            .appendingPathComponent("caravan-chromium-\(UUID().uuidString)").path
        let process = Process()
        // The shell hands our two pipes to Chromium as its fds 3 and 4.
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = [
            "-c", #"exec "$0" "$@" 3<&0 4>&1 0</dev/null 1>/dev/null 2>/dev/null"#, executable,
            "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars",
            "--remote-debugging-pipe", "--user-data-dir=\(self.profile)", "about:blank",
        ]
        let toBrowser = Pipe()
        let fromBrowser = Pipe()
        process.standardInput = toBrowser
        process.standardOutput = fromBrowser
        try process.run()
        self.process = process
        self.commands = toBrowser.fileHandleForWriting
        let answers = fromBrowser.fileHandleForReading
        // A thread of its own: a blocking read must not hold a Swift concurrency thread.
        Thread.detachNewThread { [weak self] in
            var buffer = Data()
            while true {
                let chunk = answers.availableData
                if chunk.isEmpty { break }
                buffer.append(chunk)
                while let end = buffer.firstIndex(of: 0) {
                    let message = buffer[buffer.startIndex..<end]
                    buffer = Data(buffer[buffer.index(after: end)...])
                    self?.deliver(Data(message))
                }
            }
            self?.failAll("the browser closed its DevTools pipe")
        }
    }

    deinit { self.close() }

    func close() {
        self.failAll("the browser was closed")
        if self.process.isRunning { kill(self.process.processIdentifier, SIGKILL) }
        try? FileManager.default.removeItem(atPath: self.profile)
    }

    /// Sends one command and waits for its answer; the answer's `result` as JSON.
    func send(
        _ method: String, _ parameters: [String: any Sendable] = [:], session: String? = nil,
        timeout: Duration = .seconds(30)
    ) async throws -> Data {
        let id = self.state.withLock { state in
            defer { state.nextID += 1 }
            return state.nextID
        }
        var command: [String: Any] = ["id": id, "method": method, "params": parameters]
        if let session { command["sessionId"] = session }
        let bytes = try JSONSerialization.data(withJSONObject: command) + [0]
        return try await withThrowingTaskGroup(of: Data.self) { group in
            group.addTask {
                try await withCheckedThrowingContinuation { continuation in
                    let closed = self.state.withLock { state in
                        if state.closed { return true }
                        state.waiting[id] = continuation
                        return false
                    }
                    if closed {
                        continuation.resume(throwing: Failure(description: "the browser is closed"))
                    } else {
                        self.commands.write(bytes)
                    }
                }
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                self.fail(id, "\(method) had no answer within \(timeout)")
                throw Failure(description: "\(method) timed out")
            }
            let answer = try await group.next()!
            group.cancelAll()
            return answer
        }
    }

    private func deliver(_ message: Data) {
        guard let object = try? JSONSerialization.jsonObject(with: message) as? [String: Any],
            let id = object["id"] as? Int
        else { return }  // an event: the tests wait on the page's state instead
        guard let continuation = self.state.withLock({ $0.waiting.removeValue(forKey: id) }) else { return }
        if let error = object["error"] as? [String: Any] {
            continuation.resume(throwing: Failure(description: "DevTools: \(error["message"] ?? error)"))
        } else {
            let result = object["result"] ?? [:]
            continuation.resume(returning: (try? JSONSerialization.data(withJSONObject: result)) ?? Data("{}".utf8))
        }
    }

    private func fail(_ id: Int, _ reason: String) {
        self.state.withLock { $0.waiting.removeValue(forKey: id) }?.resume(throwing: Failure(description: reason))
    }

    private func failAll(_ reason: String) {
        let waiting = self.state.withLock { state in
            state.closed = true
            defer { state.waiting = [:] }
            return state.waiting
        }
        for continuation in waiting.values { continuation.resume(throwing: Failure(description: reason)) }
    }

    /// A new tab of `width` × `height` CSS pixels showing `url`.
    func open(_ url: String, width: Int = 1280, height: Int = 900, mobile: Bool = false) async throws -> BrowserPage {
        let target = try Self.decode(try await self.send("Target.createTarget", ["url": "about:blank"]))
        guard let targetID = target["targetId"] as? String else { throw Failure(description: "no target id") }
        let attached = try Self.decode(
            try await self.send("Target.attachToTarget", ["targetId": targetID, "flatten": true]))
        guard let session = attached["sessionId"] as? String else { throw Failure(description: "no session id") }
        let page = BrowserPage(browser: self, session: session)
        try await page.resize(width: width, height: height, mobile: mobile)
        try await page.navigate(url)
        return page
    }

    static func decode(_ data: Data) throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw Failure(description: "not a JSON object: \(String(decoding: data, as: UTF8.self))")
        }
        return object
    }
}

/// One tab of a `HeadlessBrowser`.
struct BrowserPage: Sendable {
    let browser: HeadlessBrowser
    let session: String

    func navigate(_ url: String) async throws {
        _ = try await self.browser.send("Page.navigate", ["url": url], session: self.session)
    }

    func resize(width: Int, height: Int, mobile: Bool = false) async throws {
        _ = try await self.browser.send(
            "Emulation.setDeviceMetricsOverride",
            ["width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile], session: self.session)
    }

    /// The value of a JavaScript expression (awaited when a promise), as JSON text.
    func evaluateJSON(_ expression: String) async throws -> String {
        let wrapped = "(async () => JSON.stringify(await (\(expression)) ?? null))()"
        let answer = try HeadlessBrowser.decode(
            try await self.browser.send(
                "Runtime.evaluate", ["expression": wrapped, "awaitPromise": true, "returnByValue": true],
                session: self.session))
        if let exception = answer["exceptionDetails"] as? [String: Any] {
            let detail = (exception["exception"] as? [String: Any])?["description"] ?? exception["text"] ?? exception
            throw HeadlessBrowser.Failure(description: "\(expression): \(detail)")
        }
        return ((answer["result"] as? [String: Any])?["value"] as? String) ?? "null"
    }

    /// The value of a JavaScript expression, decoded.
    func evaluate<Value: Decodable>(_ expression: String, as type: Value.Type = Value.self) async throws -> Value {
        let json = try await self.evaluateJSON(expression)
        do {
            return try JSONDecoder().decode(Value.self, from: Data(json.utf8))
        } catch {
            throw HeadlessBrowser.Failure(description: "\(expression) gave \(json), not a \(Value.self)")
        }
    }

    /// Waits until `condition` (a JavaScript expression) is true in the page;
    /// on timeout the failure carries the page's text, to show what it showed instead.
    func waitUntil(_ condition: String, timeout: Duration = .seconds(30)) async throws {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while ContinuousClock.now < deadline {
            // Before the document exists (navigation under way) evaluation may fail: try again.
            if (try? await self.evaluate("Boolean(\(condition))", as: Bool.self)) == true { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        let text = (try? await self.evaluate("document.body ? document.body.innerText : ''", as: String.self)) ?? ""
        throw HeadlessBrowser.Failure(description: "waited \(timeout) for \(condition); the page shows:\n\(text)")
    }

    /// Text content of the first element matching a CSS selector ("" when none).
    func text(_ selector: String) async throws -> String {
        try await self.evaluate("document.querySelector(\(Self.quoted(selector)))?.textContent.trim() ?? ''")
    }

    /// A PNG of the whole page (not only the viewport) at `path`.
    func screenshot(_ path: String) async throws {
        let metrics = try HeadlessBrowser.decode(
            try await self.browser.send("Page.getLayoutMetrics", session: self.session))
        let size = metrics["cssContentSize"] as? [String: Any] ?? [:]
        let clip: [String: any Sendable] = [
            "x": 0, "y": 0, "scale": 1,
            "width": (size["width"] as? Double) ?? 1280, "height": (size["height"] as? Double) ?? 900,
        ]
        let answer = try HeadlessBrowser.decode(
            try await self.browser.send(
                "Page.captureScreenshot", ["format": "png", "captureBeyondViewport": true, "clip": clip],
                session: self.session))
        guard let base64 = answer["data"] as? String, let png = Data(base64Encoded: base64) else {
            throw HeadlessBrowser.Failure(description: "no screenshot data")
        }
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try png.write(to: URL(fileURLWithPath: path))
    }

    /// A string as a JavaScript literal.
    static func quoted(_ text: String) -> String {
        String(decoding: try! JSONEncoder().encode(text), as: UTF8.self)
    }
}

/// Where tests save screenshots: `CARAVAN_SCREENSHOTS`, else `.build/screenshots`.
enum Screenshots {
    static func path(_ name: String) -> String {
        let directory = ProcessInfo.processInfo.environment["CARAVAN_SCREENSHOTS"] ?? ".build/screenshots"
        return (directory as NSString).appendingPathComponent(name)
    }
}
