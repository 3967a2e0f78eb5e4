import CaravanCore
import CaravanGateway
import CaravanGatewayAPI
import CaravanGatewayHTTP
import CaravanServer
import Foundation
import Hummingbird
import Logging
import Prometheus
import Testing

@Suite("HTTP door: the OpenAPI document")
struct OpenAPIDocumentTests {
    /// The gateway as the executable builds it, metrics on (so `/metrics` is routed).
    static func gatewayRouter() -> (router: Router<GatewayRequestContext>, rpc: RPCRouter) {
        let application = GatewayApplication(settings: GatewaySettings(), logger: .init(label: "test"))
        let router = GatewayHTTPServer.router(
            caller: HTTPGatewayCaller(router: application.server.router), pools: application.pools,
            metrics: PrometheusCollectorRegistry(), streams: HTTPStreamRunner())
        return (router, application.server.router)
    }

    static func document() throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(GatewayOpenAPI.document.utf8)) as? [String: Any])
    }

    /// `METHOD /path` of every operation the document describes.
    static func documentedOperations() throws -> Set<String> {
        let paths = try #require(try Self.document()["paths"] as? [String: [String: Any]])
        var operations: Set<String> = []
        for (path, item) in paths {
            for method in item.keys { operations.insert("\(method.uppercased()) \(path)") }
        }
        return operations
    }

    /// `METHOD /path` of every route, with `/v1/{service}/{method}` spelled
    /// out for each method the RPC router serves there: POST for unary and
    /// server-streaming methods, GET for server-streaming ones.
    static func routedOperations() -> Set<String> {
        let (router, rpc) = Self.gatewayRouter()
        var operations: Set<String> = []
        for route in router.routes {
            var path = route.path.description
            if !path.hasPrefix("/") { path = "/" + path }
            guard path == "/v1/{service}/{method}" else {
                operations.insert("\(route.method) \(path)")
                continue
            }
            for schema in rpc.services {
                for method in schema.methods {
                    let served: Bool
                    switch (route.method, method.kind) {
                    case (.post, .unary), (.post, .serverStreaming), (.get, .serverStreaming): served = true
                    default: served = false
                    }
                    if served { operations.insert("\(route.method) /v1/\(schema.name)/\(method.descriptor.method)") }
                }
            }
        }
        return operations
    }

    @Test("Every route of the door is in the document, and every path of the document is routed")
    func routesMatchPaths() throws {
        let routed = Self.routedOperations()
        let documented = try Self.documentedOperations()
        #expect(routed.subtracting(documented).sorted() == [], "routed but not documented")
        #expect(documented.subtracting(routed).sorted() == [], "documented but not routed")
        #expect(routed.contains("GET /v1/caravan.trade.v1.TradeService/StreamFlows"))
        #expect(routed.contains("POST /v1/caravan.logistics.v1.LogisticsService/WatchShipment"))
    }

    @Test("The document is OpenAPI 3.1 with the error shape, 64-bit integers as strings and enums by name")
    func shape() throws {
        let document = try Self.document()
        #expect(document["openapi"] as? String == "3.1.0")
        let schemas = try #require((document["components"] as? [String: Any])?["schemas"] as? [String: [String: Any]])
        let status = try #require(schemas["Status"]?["properties"] as? [String: Any])
        #expect(Set(status.keys) == ["code", "message", "details"])
        let flow = try #require(schemas["caravan.trade.v1.TradeFlow"]?["properties"] as? [String: [String: Any]])
        #expect(flow["recordedAtUnixSeconds"]?["type"] as? String == "string")
        #expect(flow["recordedAtUnixSeconds"]?["format"] as? String == "int64")
        #expect((flow["synthetic"]?["description"] as? String)?.contains("generated") == true)
        let direction = try #require(schemas["caravan.trade.v1.TradeDirection"])
        #expect(direction["enum"] as? [String] == ["DIRECTION_UNSPECIFIED", "DIRECTION_EXPORT", "DIRECTION_IMPORT"])
    }

    @Test("Served at /openapi.json")
    func served() async throws {
        let answer = try await withHTTPDoor(router: RPCRouter()) { base in try await curl([base + "/openapi.json"]) }
        #expect(answer.status == 200 && answer.headers["content-type"] == "application/json")
        #expect(answer.body == GatewayOpenAPI.document)
    }
}
