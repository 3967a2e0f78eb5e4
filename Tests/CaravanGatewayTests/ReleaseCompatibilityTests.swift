import CaravanCore
import CaravanGateway
import CaravanServer
import CaravanTCP
import CaravanTestingAPI
import Foundation
import Logging
import NIOCore
import ServiceLifecycle
import Testing

/// The gateway (its forwarding, RPC server and HTTP door, over real TCP)
/// in front of a backend of another release of the same API: `Catalog`
/// of Proto/caravan/testing/v1/evolution.proto, whose release 2 added a
/// field to each message and a method.
@Suite("A gateway and a backend of different releases", .timeLimit(.minutes(2)))
struct ReleaseCompatibilityTests {
    static let wireName = "caravan.testing.v1.Catalog"
    static let getItem = MethodDescriptor(service: wireName, method: "GetItem")
    static let countItems = MethodDescriptor(service: wireName, method: "CountItems")

    /// A release's schema under the wire name both releases share.
    static func catalog(_ release: ServiceSchema) -> ServiceSchema {
        ServiceSchema(
            name: Self.wireName, file: release.file,
            methods: release.methods.map {
                MethodSchema(
                    descriptor: MethodDescriptor(service: Self.wireName, method: $0.descriptor.method), kind: $0.kind,
                    inputType: $0.inputType, outputType: $0.outputType)
            },
            fileDescriptorProtos: release.fileDescriptorProtos)
    }

    struct Release1Backend: RPCService {
        var serviceSchema: ServiceSchema { ReleaseCompatibilityTests.catalog(CatalogRelease1.schema) }
        func registerMethods(with router: inout RPCRouter) {
            router.registerUnary(ReleaseCompatibilityTests.getItem) { (request: GetCatalogItemRequest, _) in
                CatalogItem(id: request.id, name: "Kazakh tea")
            }
        }
    }

    struct Release2Backend: RPCService {
        var serviceSchema: ServiceSchema { ReleaseCompatibilityTests.catalog(CatalogRelease2.schema) }
        func registerMethods(with router: inout RPCRouter) {
            router.registerUnary(ReleaseCompatibilityTests.getItem) { (request: GetCatalogItemRequestNext, _) in
                CatalogItemNext(id: request.id, name: "Kazakh tea", originCountry: request.withOrigin ? "KZ" : "")
            }
            router.registerUnary(ReleaseCompatibilityTests.countItems) { (_: CountCatalogItemsRequest, _) in
                CountCatalogItemsResponse(count: 1)
            }
        }
    }

    /// Runs `backend`, and a gateway routing `gateway` to it; hands `body`
    /// the gateway's HTTP door and an RPC client of the gateway.
    func withReleases(
        backend: any RPCService, gateway: ServiceSchema,
        _ body: @Sendable (_ http: String, _ rpc: RPCClient) async throws -> Void
    ) async throws {
        var logger = Logger(label: "caravan.test.releases")
        logger.logLevel = .warning
        let backendServer = RPCServer(services: [backend], logger: logger)
        let backendGroup = ServiceGroup(services: [backendServer], logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await backendGroup.run() }
            let backendPort = try #require(try await backendServer.listeningAddress.port)
            let toBackend = TCPClientTransport(host: "127.0.0.1", port: backendPort)
            tasks.addTask { await toBackend.run() }
            let gatewayServer = RPCServer(
                services: [ForwardingService(schema: gateway, transport: toBackend)], logger: logger)
            let gatewayGroup = ServiceGroup(services: [gatewayServer], logger: logger)
            tasks.addTask { try await gatewayGroup.run() }
            let gatewayPort = try #require(try await gatewayServer.listeningAddress.port)
            let toGateway = TCPClientTransport(host: "127.0.0.1", port: gatewayPort)
            tasks.addTask { await toGateway.run() }
            do {
                try await withHTTPDoor(router: gatewayServer.router) { base in
                    try await body(base, RPCClient(transport: toGateway, retryPolicy: .none))
                }
            } catch {
                tasks.cancelAll()
                throw error
            }
            toGateway.close()
            await gatewayGroup.triggerGracefulShutdown()
            toBackend.close()
            await backendGroup.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }

    @Test("A gateway of release 1 in front of a backend of release 2")
    func olderGateway() async throws {
        try await self.withReleases(backend: Release2Backend(), gateway: Self.catalog(CatalogRelease1.schema)) {
            http, rpc in
            // HTTP: the gateway's JSON is its release's; the new field is not in it.
            let item = try await curl([
                "-X", "POST", "--data", #"{"id":"c-1","withOrigin":true}"#, http + "/v1/\(Self.wireName)/GetItem",
            ])
            #expect(item.status == 200)
            #expect(item.body == #"{"id":"c-1","name":"Kazakh tea"}"#)
            // RPC: forwarded byte for byte, so a release-2 client gets the new field through it.
            let request = try GetCatalogItemRequestNext(id: "c-1", withOrigin: true).serializedBytes()
            let answer = try CatalogItemNext(
                serializedBytes: try await rpc.unary(descriptor: Self.getItem, request: request))
            #expect(answer.originCountry == "KZ")
            // The new method is not routed until the gateway is upgraded.
            let count = try await curl(["-X", "POST", "--data", "{}", http + "/v1/\(Self.wireName)/CountItems"])
            #expect(count.status == 501 && (count.json["code"] as? Int) == 12)
            await #expect(throws: RPCError.self) {
                try await rpc.unary(descriptor: Self.countItems, request: [])
            }
        }
    }

    @Test("A gateway of release 2 in front of a backend of release 1")
    func newerGateway() async throws {
        try await self.withReleases(backend: Release1Backend(), gateway: Self.catalog(CatalogRelease2.schema)) {
            http, rpc in
            // The old backend ignores the field it does not know and answers without the new one.
            let item = try await curl([
                "-X", "POST", "--data", #"{"id":"c-1","withOrigin":true}"#, http + "/v1/\(Self.wireName)/GetItem",
            ])
            #expect(item.status == 200)
            #expect(item.body == #"{"id":"c-1","name":"Kazakh tea"}"#)
            // The new method reaches the old backend, which does not have it: UNIMPLEMENTED, 501.
            let count = try await curl(["-X", "POST", "--data", "{}", http + "/v1/\(Self.wireName)/CountItems"])
            #expect(count.status == 501 && (count.json["code"] as? Int) == 12)
            do {
                _ = try await rpc.unary(descriptor: Self.countItems, request: [])
                Issue.record("CountItems answered")
            } catch let error as RPCError {
                #expect(error.code == .unimplemented)
            }
        }
    }
}
