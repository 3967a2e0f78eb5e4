import CaravanCore
import CaravanGateway
import CaravanGatewayAPI
import CaravanGatewayHTTP
import CaravanTCP
import CaravanTestSupport
import CaravanTradeAPI
import Foundation
import Prometheus
import Testing

@Suite("HTTP/JSON door")
struct HTTPTests {
    @Test("Status codes map to HTTP as grpc-gateway maps them")
    func mapping() {
        let expected: [(RPCError.Code, Int)] = [
            (.cancelled, 499), (.unknown, 500), (.invalidArgument, 400), (.deadlineExceeded, 504), (.notFound, 404),
            (.alreadyExists, 409), (.permissionDenied, 403), (.resourceExhausted, 429), (.failedPrecondition, 400),
            (.aborted, 409), (.outOfRange, 400), (.unimplemented, 501), (.internal, 500), (.unavailable, 503),
            (.dataLoss, 500), (.unauthenticated, 401),
        ]
        for (code, status) in expected { #expect(HTTPStatusMapping.httpStatus(for: code) == status, "\(code)") }
    }

    func caller(_ backends: FakeBackends = FakeBackends(), transport: RecordingTransport = RecordingTransport())
        -> HTTPGatewayCaller
    {
        var router = RPCRouter()
        router.register(GatewayProvider(backends: backends))
        router.register(ForwardingService(schema: TradeService.schema, transport: transport))
        return HTTPGatewayCaller(router: router)
    }

    @Test("An aggregate as JSON, and an invalid request as {code, message, details}")
    func aggregate() async throws {
        let caller = self.caller()
        let answer = await caller.call(
            Gateway.Method.countryProfile, message: CountryProfileRequest(country: "KZ", year: 2024),
            headers: .init(timeout: .seconds(10)))
        #expect(answer.status == 200)
        let profile = try JSONDecoder().decode(CountryProfileResponse.self, from: answer.json)
        #expect(profile.trade?.outcome?.status == .ok && profile.country == "KZ")

        let bad = await caller.call(
            service: "caravan.gateway.v1.Gateway", method: "CountryProfile",
            json: Data(#"{"country":"FR","year":2024}"#.utf8), headers: .init())
        #expect(bad.status == 400)
        let error = try jsonObject(bad.json)
        #expect(error["code"] as? Int == 3 && (error["message"] as? String)?.contains("FR") == true)
        #expect(error["details"] as? [Any] != nil)
    }

    /// Refusals counted as a scrape shows them: `caravan_rpc_server_rejected_total` by reason.
    final class Refusals: Sendable {
        let registry = PrometheusCollectorRegistry()
        let metrics: TransportMetrics
        init() { self.metrics = TransportMetrics(factory: PrometheusMetricsFactory(registry: self.registry)) }
        func count(_ reason: TransportMetrics.RejectionReason) -> Double? {
            let text = String(decoding: self.registry.emitToBuffer(), as: UTF8.self)
            return prometheusSample(text, TransportMetrics.Name.rejected, ["reason": reason.rawValue])
        }
    }

    @Test("The HTTP door's calls count against the server's admission limit: over it, 429 with a retry hint, counted")
    func admission() async throws {
        var router = RPCRouter()
        router.register(GatewayProvider(backends: FakeBackends()))
        let admission = AdmissionControl(configuration: .init(initialLimit: 1, minLimit: 1, maxLimit: 1))
        router.admission = admission
        let refusals = Refusals()
        let caller = HTTPGatewayCaller(router: router, rejections: refusals.metrics)
        let request = CountryProfileRequest(country: "KZ", year: 2024)
        // A call of the TCP door holds the one place.
        let held = try admission.admit(deadline: nil).get()
        let refused = await caller.call(Gateway.Method.countryProfile, message: request, headers: .init())
        #expect(refused.status == 429)
        #expect(refused.retryAfterMilliseconds.map { $0 >= 1 } == true)
        #expect(try jsonObject(refused.json)["code"] as? Int == 8)
        #expect(refusals.count(.overloaded) == 1)
        admission.finished(held)
        let answered = await caller.call(Gateway.Method.countryProfile, message: request, headers: .init())
        #expect(answered.status == 200)
        #expect(admission.snapshot.inFlight == 0, "the HTTP call gave its place back")
        #expect(refusals.count(.overloaded) == 1)
    }

    @Test("Over the HTTP door's limit of calls in flight: 429 at once, counted; a place is free again after")
    func inFlightLimit() async throws {
        let gate = Gate()
        var router = RPCRouter()
        router.register(GatewayProvider(backends: FakeBackends(trade: .hold(gate))))
        let refusals = Refusals()
        let caller = HTTPGatewayCaller(router: router, maxConcurrentCalls: 1, rejections: refusals.metrics)
        let request = CountryProfileRequest(country: "KZ", year: 2024)
        let first = Task { await caller.call(Gateway.Method.countryProfile, message: request, headers: .init()) }
        try await gate.held()
        let refused = await caller.call(Gateway.Method.countryProfile, message: request, headers: .init())
        #expect(refused.status == 429)
        #expect((try jsonObject(refused.json)["message"] as? String)?.contains("limit 1") == true)
        #expect(refusals.count(.httpInFlightLimit) == 1)
        gate.open()
        #expect(await first.value.status == 200)
        let after = await caller.call(Gateway.Method.countryProfile, message: request, headers: .init())
        #expect(after.status == 200)
        #expect(refusals.count(.httpInFlightLimit) == 1)
    }

    @Test("POST of any routed method: JSON in, the pool gets protobuf with the key, deadline and trace")
    func routed() async throws {
        let transport = RecordingTransport()
        let caller = self.caller(transport: transport)
        let answer = await caller.call(
            service: "caravan.trade.v1.TradeService", method: "GetFlow", json: Data(#"{"id":"f-1"}"#.utf8),
            headers: .init(
                timeout: .seconds(3), idempotencyKey: "k-9",
                traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"))
        // The fake echoes the request reversed, which does not decode as a GetFlowResponse: INTERNAL, 500.
        #expect(answer.status == 500)
        let options = try #require(transport.seen.first)
        #expect(options.idempotencyKey == "k-9" && options.trace?.traceID == "4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(options.deadline.map { ContinuousClock.now.duration(to: $0) <= .seconds(3) } == true)

        #expect(
            await caller.call(
                service: "caravan.trade.v1.TradeService", method: "StreamFlows", json: Data(), headers: .init()
            ).status == 501)
        #expect(
            await caller.call(service: "caravan.energy.v1.Energy", method: "Get", json: Data(), headers: .init()).status
                == 501)
        #expect(
            await caller.call(
                service: "caravan.trade.v1.TradeService", method: "GetFlow", json: Data("[".utf8), headers: .init()
            ).status == 400)
    }
}
