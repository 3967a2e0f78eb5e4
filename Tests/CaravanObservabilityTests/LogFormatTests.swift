import CaravanObservability
import CaravanTestSupport
import Foundation
import Logging
import Synchronization
import Testing

/// Lines a handler wrote, kept instead of going to standard error.
final class CapturedLines: Sendable {
    private let storage = Mutex<[String]>([])
    var lines: [String] { self.storage.withLock { $0 } }
    var sink: @Sendable (String) -> Void { { line in self.storage.withLock { $0.append(line) } } }

    func logger(format: LogFormat, redaction: LogRedaction = .defaults, level: Logger.Level = .trace) -> Logger {
        let sink = self.sink
        return Logger(label: "caravan.test") { label in
            CaravanLogHandler(label: label, level: level, format: format, redaction: redaction, sink: sink)
        }
    }
}

@Suite("Log formats")
struct LogFormatTests {
    @Test("JSON lines parse as JSON, one object per line, with the fields named")
    func jsonLinesParse() throws {
        let captured = CapturedLines()
        var logger = captured.logger(format: .json)
        logger[metadataKey: "service"] = "trade"
        logger.info(
            "Quotes \" backslash \\ newline \n tab \t bell \u{07} and 中亚",
            metadata: [
                "rpc.code": "OK", "count": .stringConvertible(3),
                "nested": .dictionary(["list": .array(["a", "b\"c"])]),
            ])
        logger.debug("second")
        #expect(captured.lines.count == 2)
        for line in captured.lines {
            #expect(line.hasSuffix("\n") && line.dropLast().firstIndex(of: "\n") == nil, "one line each: \(line)")
        }
        let object = try jsonObject(captured.lines[0])
        #expect(object["level"] as? String == "info")
        #expect(object["label"] as? String == "caravan.test")
        #expect(object["message"] as? String == "Quotes \" backslash \\ newline \n tab \t bell \u{07} and 中亚")
        let timestamp = try #require(object["timestamp"] as? String)
        let parsed = try Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(timestamp)
        #expect(abs(parsed.timeIntervalSinceNow) < 3600)
        let metadata = try #require(object["metadata"] as? [String: Any])
        #expect(metadata["service"] as? String == "trade")
        #expect(metadata["rpc.code"] as? String == "OK")
        #expect(metadata["count"] as? String == "3")
        let nested = try #require(metadata["nested"] as? [String: Any])
        #expect(nested["list"] as? [String] == ["a", "b\"c"])
        #expect(try jsonObject(captured.lines[1])["level"] as? String == "debug")
    }

    @Test("Text lines carry the level, label, message and sorted metadata")
    func textLines() {
        let captured = CapturedLines()
        let logger = captured.logger(format: .text)
        logger.warning("Replica unhealthy", metadata: ["replica": "127.0.0.1:7001", "backend": "trade"])
        let line = captured.lines.first ?? ""
        #expect(line.contains(" warning caravan.test: Replica unhealthy backend=trade replica=127.0.0.1:7001\n"))
        #expect(line.range(of: #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z "#, options: .regularExpression) != nil)
    }

    @Test("The handler's level filters lines")
    func levelFilters() {
        let captured = CapturedLines()
        let logger = captured.logger(format: .json, level: .notice)
        logger.info("dropped")
        logger.notice("kept")
        #expect(captured.lines.count == 1 && captured.lines[0].contains("kept"))
    }
}

@Suite("Redaction")
struct RedactionTests {
    static let secret = "s3cr3t-value-42"

    @Test("Sensitive keys are masked in both formats, at any depth", arguments: LogFormat.allCases)
    func sensitiveMasked(format: LogFormat) throws {
        let captured = CapturedLines()
        let logger = captured.logger(
            format: format, redaction: LogRedaction.defaults.adding(keys: ["X-Tenant-Secret-Id"]))
        logger.info(
            "call",
            metadata: [
                "authorization": "Bearer \(Self.secret)",
                "Refresh-Token": "\(Self.secret)",
                "x-tenant-secret-id": "\(Self.secret)",
                "rpc.metadata": .dictionary(["authorization": "Bearer \(Self.secret)", "x-request-id": "r-1"]),
                "headers": .array([.dictionary(["cookie": "\(Self.secret)"])]),
                "rpc.method": "caravan.trade.v1.TradeService/GetSummary",
            ])
        let line = try #require(captured.lines.first)
        #expect(!line.contains(Self.secret), "\(line)")
        #expect(line.contains(LogRedaction.mask))
        #expect(line.contains("r-1") && line.contains("caravan.trade.v1.TradeService/GetSummary"))
    }

    @Test("Logger metadata set on the logger is masked too")
    func loggerMetadataMasked() throws {
        let captured = CapturedLines()
        var logger = captured.logger(format: .json)
        logger[metadataKey: "service-token"] = "\(Self.secret)"
        logger.info("x")
        let line = try #require(captured.lines.first)
        let metadata = try #require(try jsonObject(line)["metadata"] as? [String: Any])
        #expect(metadata["service-token"] as? String == LogRedaction.mask)
    }

    @Test("Ordinary keys stay; the idempotency key is not a secret")
    func ordinaryKeys() {
        let redaction = LogRedaction.defaults
        #expect(
            redaction.isSensitive("Authorization") && redaction.isSensitive("api_token")
                && redaction.isSensitive("db-password"))
        #expect(
            !redaction.isSensitive("idempotency-key") && !redaction.isSensitive("trace_id")
                && !redaction.isSensitive("tokens"))
    }
}
