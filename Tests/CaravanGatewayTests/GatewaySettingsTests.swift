import CaravanCore
import CaravanGateway
import CaravanServiceKit
import Testing

@Suite("Gateway settings")
struct GatewaySettingsTests {
    @Test("Replica lists and the backends file")
    func parsing() throws {
        #expect(GatewaySettings.parseEndpoints("127.0.0.1:7001, 127.0.0.1:7011,") == [
            Endpoint(host: "127.0.0.1", port: 7001), Endpoint(host: "127.0.0.1", port: 7011),
        ])
        #expect(GatewaySettings.parseEndpoints("127.0.0.1") == nil)
        let file = """
            # replicas
            trade = 127.0.0.1:7001,127.0.0.1:7011
            logistics = logistics.caravan.svc:7002  # a headless service
            """
        let backends = try GatewaySettings.parseBackendsFile(file)
        #expect(backends[.trade]?.count == 2)
        #expect(backends[.logistics] == [Endpoint(host: "logistics.caravan.svc", port: 7002)])
        #expect(backends[.training] == nil)
        #expect(throws: GatewayConfigurationError.self) { try GatewaySettings.parseBackendsFile("energy = 1.2.3.4:1") }
    }

    @Test("IP literals need no lookup; localhost resolves")
    func resolving() async {
        #expect(AddressResolver.isIPLiteral("127.0.0.1") && AddressResolver.isIPLiteral("::1"))
        #expect(!AddressResolver.isIPLiteral("trade.caravan.svc"))
        let resolved = await AddressResolver.resolve([Endpoint(host: "localhost", port: 7001)])
        #expect(resolved.contains { $0.host == "127.0.0.1" || $0.host == "::1" })
        #expect(resolved.allSatisfy { $0.port == 7001 })
    }
}
