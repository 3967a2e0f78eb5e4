import CaravanCore
import CaravanEchoAPI
import CaravanEnvelope
import CaravanGatewayAPI
import CaravanHealthAPI
import CaravanLogisticsAPI
import CaravanReflectionAPI
import CaravanTradeAPI
import CaravanTrainingAPI

/// The message types a peer's bytes are decoded as, in a fixed order: an
/// input's first byte picks one (see `main.swift`).
enum FuzzedMessageTypes {
    /// Every service a server of ours answers. caravan.testing.v1 is left
    /// out: no server routes it.
    static let services: [ServiceSchema] =
        CaravanTradeAPISchemas.services + CaravanLogisticsAPISchemas.services
        + CaravanTrainingAPISchemas.services + CaravanGatewayAPISchemas.services
        + CaravanHealthAPISchemas.services + CaravanReflectionAPISchemas.services
        + CaravanEchoAPISchemas.services

    /// The frame headers a connection decodes (caravan.rpc.v1): a server
    /// reads REQUEST headers, a client RESPONSE headers and GOAWAY.
    static let frameHeaders: [any ProtoMessage.Type] = [RequestHeader.self, ResponseHeader.self, GoAway.self]

    /// Every method's request type, then every response type (what a
    /// client, the gateway above all, decodes from a backend), then the
    /// frame headers; each once.
    static let all: [any ProtoMessage.Type] = {
        let methods = FuzzedMessageTypes.services.flatMap(\.methods)
        var seen: Set<String> = []
        var types: [any ProtoMessage.Type] = []
        for type in methods.map(\.inputType) + methods.map(\.outputType) + FuzzedMessageTypes.frameHeaders
        where seen.insert(type.protoMessageName).inserted {
            types.append(type)
        }
        // The selector's low 7 bits pick the type; the top bit picks JSON.
        precondition(types.count <= 128, "more message types than a selector byte can pick")
        return types
    }()

    /// The type an input's selector byte picks.
    static func type(selectedBy selector: UInt8) -> any ProtoMessage.Type {
        all[Int(selector & 0x7F) % all.count]
    }
}
