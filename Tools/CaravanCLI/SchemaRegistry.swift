import CaravanCore
import CaravanEchoAPI
import CaravanGatewayAPI
import CaravanHealthAPI
import CaravanLogisticsAPI
import CaravanReflectionAPI
import CaravanTradeAPI
import CaravanTrainingAPI
import Foundation

/// Every service this build knows, so tools can turn JSON into the right
/// protobuf message for a method and back.
public enum SchemaRegistry {
    public static let services: [ServiceSchema] =
        CaravanHealthAPISchemas.services + CaravanReflectionAPISchemas.services + CaravanEchoAPISchemas.services
        + CaravanTradeAPISchemas.services + CaravanLogisticsAPISchemas.services
        + CaravanTrainingAPISchemas.services + CaravanGatewayAPISchemas.services

    /// Every message type this build knows.
    public static let messageTypes: [any ProtoMessage.Type] =
        CaravanHealthAPISchemas.messageTypes + CaravanReflectionAPISchemas.messageTypes
        + CaravanEchoAPISchemas.messageTypes + CaravanTradeAPISchemas.messageTypes
        + CaravanLogisticsAPISchemas.messageTypes + CaravanTrainingAPISchemas.messageTypes
        + CaravanGatewayAPISchemas.messageTypes

    /// The message type with this fully qualified name (a leading dot is ignored).
    public static func messageType(named name: String) -> (any ProtoMessage.Type)? {
        let name = name.hasPrefix(".") ? String(name.dropFirst()) : name
        return Self.messageTypes.first { $0.protoMessageName == name }
    }

    private static let methodsByPath: [String: MethodSchema] = Dictionary(
        services.flatMap { $0.methods }.map { ($0.descriptor.path, $0) },
        uniquingKeysWith: { first, _ in first }
    )

    /// Finds a method by `/pkg.Service/Method`, `pkg.Service/Method` or
    /// `pkg.Service.Method`.
    public static func method(named name: String) -> MethodSchema? {
        var path = name.hasPrefix("/") ? name : "/" + name
        if let schema = Self.methodsByPath[path] { return schema }
        if !path.dropFirst().contains("/"), let dot = path.lastIndex(of: ".") {
            path.replaceSubrange(dot...dot, with: "/")
            return Self.methodsByPath[path]
        }
        return nil
    }

    /// Decodes JSON into `type` and serializes it.
    public static func encodeJSON(_ json: Data, as type: any ProtoMessage.Type) throws -> [UInt8] {
        try Self.encode(json, type)
    }

    private static func encode<Message: ProtoMessage>(_ json: Data, _ type: Message.Type) throws -> [UInt8] {
        try ProtoJSON.protobuf(fromJSON: json, as: type)
    }

    /// Decodes protobuf bytes of `type` into JSON.
    public static func decodeToJSON(_ bytes: [UInt8], as type: any ProtoMessage.Type, pretty: Bool) throws -> Data {
        try Self.decode(bytes, type, pretty: pretty)
    }

    private static func decode<Message: ProtoMessage>(_ bytes: [UInt8], _ type: Message.Type, pretty: Bool) throws
        -> Data
    {
        try ProtoJSON.json(fromProtobuf: bytes, as: type, pretty: pretty)
    }
}
