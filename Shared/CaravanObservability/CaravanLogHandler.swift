import Foundation
import Logging

/// The executables' log handler: text or JSON lines on standard error,
/// sensitive metadata masked in both.
///
/// Each line is written with one `write(2)`, so that lines from several
/// threads never interleave.
public struct CaravanLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    public let label: String
    public let format: LogFormat
    public let redaction: LogRedaction
    private let sink: @Sendable (String) -> Void

    public init(
        label: String,
        level: Logger.Level = .info,
        format: LogFormat = .text,
        redaction: LogRedaction = .defaults,
        metadataProvider: Logger.MetadataProvider? = nil,
        sink: @escaping @Sendable (String) -> Void = CaravanLogHandler.standardError
    ) {
        self.label = label
        self.logLevel = level
        self.format = format
        self.redaction = redaction
        self.metadataProvider = metadataProvider
        self.sink = sink
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { self.metadata[key] }
        set { self.metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = self.metadata
        if let provided = self.metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let own = event.metadata { merged.merge(own) { _, new in new } }
        let line = LogLine(
            timestamp: Date(), level: event.level, label: self.label, message: "\(event.message)",
            metadata: self.redaction.redact(merged))
        switch self.format {
        case .text: self.sink(line.text + "\n")
        case .json: self.sink(line.json + "\n")
        }
    }

    /// Writes `line` to standard error in one system call.
    public static let standardError: @Sendable (String) -> Void = { line in
        var line = line
        line.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = write(2, bytes.baseAddress! + offset, bytes.count - offset)
                if written <= 0 {
                    if written < 0 && errno == EINTR { continue }
                    return
                }
                offset += written
            }
        }
    }
}
