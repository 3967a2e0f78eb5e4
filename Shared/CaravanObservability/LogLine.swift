import Foundation
import Logging

/// One log event, rendered as text or as a JSON object.
struct LogLine {
    var timestamp: Date
    var level: Logger.Level
    var label: String
    var message: String
    var metadata: Logger.Metadata

    /// `2026-11-30T01:02:03.456Z info caravan.trade: message key=value …`, keys sorted.
    var text: String {
        var line = "\(Self.timestamp(self.timestamp)) \(self.level) \(self.label): \(self.message)"
        for key in self.metadata.keys.sorted() {
            line += " \(key)=\(self.metadata[key]!)"
        }
        return line
    }

    /// `{"timestamp":…,"level":…,"label":…,"message":…,"metadata":{…}}` on one line.
    var json: String {
        var out = "{\"timestamp\":"
        Self.appendJSONString(Self.timestamp(self.timestamp), to: &out)
        out += ",\"level\":"
        Self.appendJSONString(self.level.rawValue, to: &out)
        out += ",\"label\":"
        Self.appendJSONString(self.label, to: &out)
        out += ",\"message\":"
        Self.appendJSONString(self.message, to: &out)
        out += ",\"metadata\":"
        Self.appendJSON(self.metadata, to: &out)
        out += "}"
        return out
    }

    private static func appendJSON(_ metadata: Logger.Metadata, to out: inout String) {
        out += "{"
        for (index, key) in metadata.keys.sorted().enumerated() {
            if index > 0 { out += "," }
            Self.appendJSONString(key, to: &out)
            out += ":"
            Self.appendJSON(metadata[key]!, to: &out)
        }
        out += "}"
    }

    private static func appendJSON(_ value: Logger.MetadataValue, to out: inout String) {
        switch value {
        case .string(let string): Self.appendJSONString(string, to: &out)
        case .stringConvertible(let value): Self.appendJSONString(value.description, to: &out)
        case .dictionary(let dictionary): Self.appendJSON(dictionary, to: &out)
        case .array(let values):
            out += "["
            for (index, value) in values.enumerated() {
                if index > 0 { out += "," }
                Self.appendJSON(value, to: &out)
            }
            out += "]"
        }
    }

    /// A JSON string literal: quotes, backslashes and control characters escaped.
    static func appendJSONString(_ string: String, to out: inout String) {
        out += "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }

    /// ISO 8601 in UTC with milliseconds.
    static func timestamp(_ date: Date) -> String {
        let interval = date.timeIntervalSince1970
        var seconds = time_t(interval.rounded(.down))
        let millis = Int((interval - Double(seconds)) * 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let milliText = millis < 10 ? "00\(millis)" : millis < 100 ? "0\(millis)" : "\(millis)"
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T"
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)).\(milliText)Z"
    }
}
