import CaravanCore
import CaravanGateway
import CaravanLogisticsAPI
import CaravanServiceKit
import CaravanTradeAPI
import CaravanTrainingAPI
import Testing

@Suite("Routing every backend method")
struct RoutingTests {
    let context = ServerContext(
        descriptor: TradeService.Method.getSummary,
        metadata: ["x-caller": "routing-test"],
        deadline: ContinuousClock.now.advanced(by: .seconds(2)),
        idempotencyKey: "key-1",
        trace: TraceContext(traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
    )

    @Test("Every method of the three services gets a route")
    func everyMethod() {
        var router = RPCRouter()
        for schema in [TradeService.schema, LogisticsService.schema, TrainingService.schema] {
            router.register(ForwardingService(schema: schema, transport: RecordingTransport()))
        }
        let expected = [TradeService.schema, LogisticsService.schema, TrainingService.schema]
            .flatMap { $0.methods.map(\.descriptor.path) }
        #expect(Set(router.paths) == Set(expected))
        for schema in [TradeService.schema, LogisticsService.schema, TrainingService.schema] {
            for method in schema.methods {
                #expect(router.route(forPath: method.descriptor.path)?.handler.kind == method.kind)
            }
        }
    }

    @Test("A unary call is forwarded undecoded, with deadline, metadata, key and trace")
    func unaryPassThrough() async throws {
        let transport = RecordingTransport()
        var router = RPCRouter()
        router.register(ForwardingService(schema: TradeService.schema, transport: transport))
        guard case .unary(let handler) = router.route(forPath: TradeService.Method.getSummary.path)?.handler else {
            Issue.record("no unary route")
            return
        }
        // Not a valid GetSummaryRequest: the gateway must not decode it.
        let response = try await router.handleUnary(handler, request: [0xFF, 1, 2], context: self.context).get()
        #expect(response == [2, 1, 0xFF])
        let options = try #require(transport.seen.first)
        #expect(options.deadline == self.context.deadline)
        #expect(options.idempotencyKey == "key-1")
        #expect(options.trace == self.context.trace)
        #expect(options.metadata.contains { $0.key == "x-caller" && $0.value == "routing-test" })
    }

    @Test("A server-streaming call is forwarded message by message")
    func streaming() async throws {
        let transport = RecordingTransport()
        var router = RPCRouter()
        router.register(ForwardingService(schema: TradeService.schema, transport: transport))
        guard case .serverStreaming(let handler) = router.route(forPath: TradeService.Method.streamFlows.path)?.handler
        else {
            Issue.record("no streaming route")
            return
        }
        let written = WrittenMessages()
        let error = await router.handle(context: self.context) { context in
            try await handler([7, 7], written.writer, context)
        }
        #expect(error == nil)
        #expect(written.all == [[7, 7]])
        #expect(transport.seen.first?.deadline == self.context.deadline)
    }
}

@Suite("Backend pool membership")
struct PoolMembershipTests {
    @Test("A name is re-resolved periodically; replicas join and leave")
    func reresolves() async throws {
        let answers = AnswerQueue([
            [Endpoint(host: "10.0.0.1", port: 7001)],
            [Endpoint(host: "10.0.0.1", port: 7001), Endpoint(host: "10.0.0.2", port: 7001)],
            [Endpoint(host: "10.0.0.2", port: 7001)],
        ])
        let pool = BackendPool(
            name: "trade", healthService: "caravan.trade.v1.TradeService",
            addresses: [Endpoint(host: "trade.caravan.svc", port: 7001)],
            configuration: BackendPoolConfiguration(resolveInterval: .milliseconds(50)),
            resolve: { _ in answers.next() }
        ) { endpoint, readinessChanged in FakeReplica(endpoint, readinessChanged: readinessChanged) }
        #expect(pool.replicas.isEmpty, "a name serves only once resolved")
        // Watched before the pool runs: the first resolution may come before
        // the test's next step, and the watch starts with the members then.
        let membership = pool.replicaPool.membership()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await pool.run() }
            var seen: [[String]] = []
            for await endpoints in membership {
                seen.append(endpoints.map(\.host))
                if seen.last == ["10.0.0.2"] { break }
            }
            #expect(seen == [[], ["10.0.0.1"], ["10.0.0.1", "10.0.0.2"], ["10.0.0.2"]])
            pool.shutDown()
            try await group.waitForAll()
        }
    }
}
