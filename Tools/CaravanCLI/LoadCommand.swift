import ArgumentParser
import CaravanCore
import Foundation
import CaravanServiceKit

/// `caravan load`: closed-loop load against one server.
struct LoadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load",
        abstract: "Drive load at a server and report throughput and latency percentiles.",
        discussion: "Closed loop: each of --concurrency workers sends its next call when the last one finished."
    )

    @Argument(help: "Server address, host:port.")
    var address: String

    @Option(name: .long, help: "The method to call.")
    var call: String

    @Option(name: [.short, .long], help: "The request as JSON.")
    var data: String = "{}"

    @Option(name: [.short, .long], help: "Calls in flight at once.")
    var concurrency: Int = 1

    @Option(name: .long, help: "Connections the calls share.")
    var connections: Int = 1

    @Option(name: .long, help: "Run this long (e.g. 10s); default 10s unless -n is given.")
    var duration: String?

    @Option(name: .customShort("n"), help: "Stop after this many calls.")
    var count: Int?

    @Option(name: .long, help: "Per-call timeout (e.g. 2s).")
    var timeout: String?

    @Option(name: [.customShort("H"), .long], help: "Request metadata, 'key: value' (repeatable).")
    var header: [String] = []

    @Option(name: .long, help: "Report format: text, json or csv.")
    var format: String = "text"

    @Option(name: [.short, .long], help: "Write the report to this file instead of standard output.")
    var output: String?

    func validate() throws {
        guard self.concurrency >= 1 else { throw ValidationError("--concurrency must be at least 1.") }
        guard self.connections >= 1 else { throw ValidationError("--connections must be at least 1.") }
        if let count = self.count, count < 1 { throw ValidationError("-n must be at least 1.") }
        guard ["text", "json", "csv"].contains(self.format) else {
            throw ValidationError("--format must be text, json or csv.")
        }
    }

    func run() async throws {
        guard let endpoint = Endpoint(self.address) else {
            throw ValidationError("'\(self.address)' is not an address of the form host:port.")
        }
        guard let method = SchemaRegistry.method(named: self.call) else {
            throw ValidationError("Unknown method '\(self.call)'.")
        }
        let request: [UInt8]
        do {
            request = try SchemaRegistry.encodeJSON(Data(self.data.utf8), as: method.inputType)
        } catch {
            throw ValidationError("--data is not a valid \(method.inputType.protoMessageName) in JSON: \(error)")
        }
        let stop: LoadPlan.Stop
        if let text = self.duration {
            guard let duration = parseDuration(text), duration > .zero else { throw ValidationError("Bad --duration '\(text)'.") }
            stop = .duration(duration)
        } else if let count = self.count {
            stop = .count(count)
        } else {
            stop = .duration(.seconds(10))
        }
        let options = try CommonOptions.callOptions(timeout: self.timeout, headers: self.header, idempotencyKey: nil)
        let plan = LoadPlan(
            endpoint: endpoint, method: method, request: request, concurrency: self.concurrency,
            connections: self.connections, stop: stop, timeout: options.timeout, metadata: options.metadata)
        let showProgress = isatty(STDERR_FILENO) == 1
        var progress: (@Sendable (Int, Duration) -> Void)?
        if showProgress {
            progress = { finished, elapsed in
                let seconds = elapsed.secondsDouble
                let rate = Double(finished) / max(seconds, 0.001)
                let line = String(format: "\r%.0f s: %d calls, %.0f calls/s   ", seconds, finished, rate)
                FileHandle.standardError.write(Data(line.utf8))
            }
        }
        let report = try await LoadGenerator.run(plan, progress: progress)
        if showProgress { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        let text: String
        switch self.format {
        case "json": text = try report.json()
        case "csv": text = report.csv()
        default: text = report.text()
        }
        if let output = self.output {
            try (text + "\n").write(toFile: output, atomically: true, encoding: .utf8)
        } else {
            print(text)
        }
    }
}
