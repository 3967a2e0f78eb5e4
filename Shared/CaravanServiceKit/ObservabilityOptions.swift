import ArgumentParser
import CaravanObservability
import Foundation
import Logging

/// Logging and metrics options every server executable takes, each
/// falling back to `CARAVAN_<SERVICE>_<NAME>` in the environment.
public struct ObservabilityOptions: ParsableArguments {
    @Option(name: .long, help: "Log lines as text or json (env CARAVAN_<SERVICE>_LOG_FORMAT; default text).")
    public var logFormat: String?

    @Option(
        name: .long,
        help: "Level of the one log line per call, or off (env CARAVAN_<SERVICE>_CALL_LOG_LEVEL; default info).")
    public var callLogLevel: String?

    @Option(
        name: .long, help: "More metadata keys to redact in logs, comma-separated (env CARAVAN_<SERVICE>_LOG_REDACT).")
    public var logRedact: String?

    @Option(
        name: .long,
        help:
            "Port serving /metrics for Prometheus; 0 picks a free one; unset: no metrics (env CARAVAN_<SERVICE>_METRICS_PORT)."
    )
    public var metricsPort: Int?

    public init() {}

    /// Settles the options for `service` (`trade`, `gateway`, …), with
    /// `logLevel` already settled; `callLogLevel` is the default level of
    /// the per-call line.
    public func resolve(
        service: String,
        logLevel: Logger.Level,
        callLogLevel: String = "info",
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> ObservabilitySettings {
        let prefix = "CARAVAN_\(service.uppercased())_"
        func value(_ flag: String?, _ name: String) -> String? { flag ?? environment[prefix + name] }
        var settings = ObservabilitySettings()
        settings.logLevel = logLevel
        let formatText = value(self.logFormat, "LOG_FORMAT") ?? "text"
        guard let format = LogFormat(rawValue: formatText) else {
            throw ValidationError("--log-format must be text or json; got '\(formatText)'.")
        }
        settings.logFormat = format
        let callText = value(self.callLogLevel, "CALL_LOG_LEVEL") ?? callLogLevel
        if callText == "off" {
            settings.callLogLevel = nil
        } else {
            guard let level = Logger.Level(rawValue: callText) else {
                throw ValidationError("--call-log-level must be a log level or off; got '\(callText)'.")
            }
            settings.callLogLevel = level
        }
        if let keys = value(self.logRedact, "LOG_REDACT") {
            settings.redaction = settings.redaction.adding(
                keys: keys.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
        }
        if let text = value(self.metricsPort.map(String.init), "METRICS_PORT"), !text.isEmpty {
            guard let port = Int(text), (0...65535).contains(port) else {
                throw ValidationError("The metrics port must be 0...65535; got '\(text)'.")
            }
            settings.metricsPort = port
        }
        return settings
    }
}
