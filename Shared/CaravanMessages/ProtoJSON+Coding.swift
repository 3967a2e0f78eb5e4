import Foundation

/// Messages as JSON, written and read one way by everything that shows or
/// takes JSON (the gateway's HTTP door, the `caravan` command, the fuzzers):
/// Foundation's coders over the generated conformances, keys sorted and
/// slashes left unescaped, so the same message is always the same text.
extension ProtoJSON {
    public static func encode<Message: ProtoMessage>(_ message: Message, pretty: Bool = false) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting =
            pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(message)
    }

    public static func decode<Message: ProtoMessage>(_ type: Message.Type, from json: Data) throws -> Message {
        try JSONDecoder().decode(Message.self, from: json)
    }

    /// JSON of a `type` as its protobuf encoding.
    public static func protobuf<Message: ProtoMessage>(fromJSON json: Data, as type: Message.Type) throws -> [UInt8] {
        try self.decode(type, from: json).serializedBytes()
    }

    /// The protobuf encoding of a `type` as JSON.
    public static func json<Message: ProtoMessage>(
        fromProtobuf bytes: [UInt8], as type: Message.Type, pretty: Bool = false
    ) throws -> Data {
        try self.encode(try Message(serializedBytes: bytes), pretty: pretty)
    }
}
