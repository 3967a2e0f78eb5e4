import CaravanCore
import Foundation
import Synchronization

/// Every call attempt of a load run, one JSON object per line
/// (`caravan load --history FILE`), for checkers that compare what clients
/// were told with what the servers stored afterwards:
///
/// ```
/// {"n":12,"attempt":1,"step":"RecordFlow","method":"/caravan.trade.v1.TradeService/RecordFlow",
///  "key":"load-…","sent":true,"start":1718000000.123456,"end":1718000000.130001,
///  "code":0,"status":"OK","message":"","request":{…},"response":{…}}
/// ```
///
/// `start` and `end` are wall-clock Unix seconds (so they line up with other
/// processes' logs); `request` and `response` are the messages in proto3
/// JSON (`response` is null on failure, an array of messages for a
/// server-streaming call); `sent` is false for a call the load tool refused
/// itself (more calls in flight than allowed), which never left the process.
/// Lines are buffered and written in blocks; ``close()`` writes the rest.
public final class CallHistory: Sendable {
    /// One attempt of one call.
    public struct Entry: Sendable {
        public var number: Int
        public var attempt: Int
        public var step: String
        public var method: MethodSchema
        public var idempotencyKey: String?
        public var sent: Bool
        public var start: Date
        public var end: Date
        public var code: StatusCode
        public var message: String
        public var request: [UInt8]?
        /// One message for a unary call, every message for a streaming call.
        public var responses: [[UInt8]]?
    }

    /// Bytes buffered before a write to the file.
    static let blockSize = 64 * 1024

    private let state: Mutex<State>

    private struct State {
        var handle: FileHandle?
        var buffer = Data()
        var failure: String?
    }

    /// Creates (or truncates) `path`.
    public init(path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil),
            let handle = FileHandle(forWritingAtPath: path)
        else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
        }
        self.state = Mutex(State(handle: handle))
    }

    public func record(_ entry: Entry) {
        let line = Self.line(entry)
        self.state.withLock { state in
            state.buffer.append(line)
            if state.buffer.count >= Self.blockSize { Self.flush(&state) }
        }
    }

    /// Writes what is buffered and closes the file; the first write error, if any.
    @discardableResult
    public func close() -> String? {
        self.state.withLock { state in
            Self.flush(&state)
            try? state.handle?.close()
            state.handle = nil
            return state.failure
        }
    }

    private static func flush(_ state: inout State) {
        guard !state.buffer.isEmpty, let handle = state.handle else { return }
        do {
            try handle.write(contentsOf: state.buffer)
        } catch {
            state.failure = state.failure ?? "\(error)"
        }
        state.buffer.removeAll(keepingCapacity: true)
    }

    /// The scalar fields, encoded as JSON with the messages spliced in as
    /// they are: they are JSON already, and decoding them to re-encode
    /// would cost more than the call.
    private struct Scalars: Encodable {
        var n: Int
        var attempt: Int
        var step: String
        var method: String
        var key: String?
        var sent: Bool
        var start: Double
        var end: Double
        var code: Int32
        var status: String
        var message: String
    }

    static func line(_ entry: Entry) -> Data {
        let scalars = Scalars(
            n: entry.number, attempt: entry.attempt, step: entry.step, method: entry.method.descriptor.path,
            key: entry.idempotencyKey, sent: entry.sent, start: entry.start.timeIntervalSince1970,
            end: entry.end.timeIntervalSince1970, code: entry.code.rawValue, status: entry.code.name,
            message: entry.message)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        var line = (try? encoder.encode(scalars)) ?? Data("{}".utf8)
        line.removeLast()  // the closing brace
        line.append(contentsOf: Array(#","request":"#.utf8))
        line.append(Self.json(entry.request, as: entry.method.inputType))
        line.append(contentsOf: Array(#","response":"#.utf8))
        switch entry.responses {
        case nil:
            line.append(contentsOf: Array("null".utf8))
        case let responses? where entry.method.kind == .unary && responses.count == 1:
            line.append(Self.json(responses[0], as: entry.method.outputType))
        case let responses?:
            line.append(UInt8(ascii: "["))
            for (index, response) in responses.enumerated() {
                if index > 0 { line.append(UInt8(ascii: ",")) }
                line.append(Self.json(response, as: entry.method.outputType))
            }
            line.append(UInt8(ascii: "]"))
        }
        line.append(contentsOf: Array("}\n".utf8))
        return line
    }

    /// A message as JSON; a message that does not decode is kept as a
    /// base64 string under `undecodable`, so the line stays JSON.
    private static func json(_ bytes: [UInt8]?, as type: any ProtoMessage.Type) -> Data {
        guard let bytes else { return Data("null".utf8) }
        if let json = try? SchemaRegistry.decodeToJSON(bytes, as: type, pretty: false) { return json }
        return Data(#"{"undecodable":"\#(Data(bytes).base64EncodedString())"}"#.utf8)
    }
}
