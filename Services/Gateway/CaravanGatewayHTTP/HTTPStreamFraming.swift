import CaravanCore
import Foundation

/// How a stream's messages and its final status are written in an HTTP body.
///
/// - ``serverSentEvents`` (`Accept: text/event-stream`): each message as
///   `event: message` with the message as one line of JSON, then
///   `event: status` with `{"code","message","details"}` (code 0 when it
///   ended OK); a `: keepalive` comment while idle.
/// - ``jsonLines`` (otherwise; grpc-gateway's shape): `{"result": …}` per
///   message, and `{"error": {…}}` last when it failed.
///
/// Public for Tests/Fuzz (HTTPDoorFuzzer): `Accept` is a client's text.
public enum HTTPStreamFraming: Sendable, Equatable {
    case serverSentEvents
    case jsonLines

    /// Server-sent events when the `Accept` header asks for them.
    public init(accept: String?) {
        let wanted = (accept ?? "").split(separator: ",").map {
            $0.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        }
        self = wanted.contains("text/event-stream") ? .serverSentEvents : .jsonLines
    }

    public var contentType: String {
        switch self {
        case .serverSentEvents: return "text/event-stream; charset=utf-8"
        case .jsonLines: return "application/x-ndjson"
        }
    }

    /// One message, given as its JSON (one line: JSON escapes line breaks in strings).
    public func message(_ json: Data) -> Data {
        switch self {
        case .serverSentEvents: return Data("event: message\ndata: ".utf8) + json + Data("\n\n".utf8)
        case .jsonLines: return Data(#"{"result":"#.utf8) + json + Data("}\n".utf8)
        }
    }

    /// The end of the stream: its status (nil: OK). JSON lines write nothing for OK.
    func end(_ error: RPCError?) -> Data {
        let body = Self.statusJSON(error)
        switch self {
        case .serverSentEvents: return Data("event: status\ndata: ".utf8) + body + Data("\n\n".utf8)
        case .jsonLines: return error == nil ? Data() : Data(#"{"error":"#.utf8) + body + Data("}\n".utf8)
        }
    }

    /// A comment that keeps proxies and clients from timing an idle stream out.
    var keepalive: Data? {
        switch self {
        case .serverSentEvents: return Data(": keepalive\n\n".utf8)
        case .jsonLines: return nil
        }
    }

    /// `{"code":…,"message":…,"details":[]}`: the error body of unary calls; code 0 for OK.
    static func statusJSON(_ error: RPCError?) -> Data {
        HTTPGatewayCaller.ErrorBody(code: error?.code.rawValue ?? 0, message: error?.message ?? "", details: []).json
    }
}
