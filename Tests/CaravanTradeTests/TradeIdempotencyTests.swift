import CaravanCore
import CaravanTestSupport
import CaravanTrade
import CaravanTradeAPI
import Testing

@Suite("Idempotent writes", .timeLimit(.minutes(1)))
struct TradeIdempotencyTests {
    @Test("The same key twice records once and answers the same", arguments: StoreBackend.available)
    func sameKeyTwice(backend: StoreBackend) async throws {
        try await withTradeHarness(backend) { harness in
            let first = try await harness.record(sampleFlow(value: 42), key: "flow-1")
            let second = try await harness.record(sampleFlow(value: 42), key: "flow-1")
            #expect(first == second)
            #expect(try await harness.client.listFlows(ListFlowsRequest()).flows.count == 1)
        }
    }

    @Test("The key may come as call metadata (idempotency-key) instead of the field", arguments: StoreBackend.available)
    func keyFromMetadata(backend: StoreBackend) async throws {
        try await withTradeHarness(backend) { harness in
            let options = CallOptions(idempotencyKey: "meta-1")
            let request = RecordFlowRequest(flow: sampleFlow(value: 7))
            let first = try await harness.client.recordFlow(request, options: options)
            let second = try await harness.client.recordFlow(request, options: options)
            #expect(first == second)
            // The same key in the field is the same write.
            let third = try await harness.client.recordFlow(
                RecordFlowRequest(flow: sampleFlow(value: 7), idempotencyKey: "meta-1"))
            #expect(third == first)
            #expect(try await harness.client.listFlows(ListFlowsRequest()).flows.count == 1)
            // Two different keys at once are refused.
            await expectRPCError(.invalidArgument, mentioning: "idempotency_key") {
                _ = try await harness.client.recordFlow(
                    RecordFlowRequest(flow: sampleFlow(value: 7), idempotencyKey: "other"), options: options)
            }
        }
    }

    @Test("The same key for a different request is refused and stores nothing", arguments: StoreBackend.available)
    func keyReused(backend: StoreBackend) async throws {
        try await withTradeHarness(backend) { harness in
            try await harness.record(sampleFlow(value: 1), key: "k")
            await expectRPCError(.invalidArgument, mentioning: "idempotency_key") {
                _ = try await harness.client.recordFlow(
                    RecordFlowRequest(flow: sampleFlow(value: 2), idempotencyKey: "k"))
            }
            // Nor can a key answer another method.
            let session = LiveStreamSession(
                hub: "horgos", creator: "Aigerim", creatorCountry: "KZ", startUnixSeconds: 1_730_000_000,
                durationMinutes: 60, newFollowers: 10, salesCny: 100)
            await expectRPCError(.invalidArgument, mentioning: "idempotency_key") {
                _ = try await harness.client.recordStreamSession(
                    RecordStreamSessionRequest(session: session, idempotencyKey: "k"))
            }
            let flows = try await harness.client.listFlows(ListFlowsRequest()).flows
            #expect(flows.map(\.valueUsd) == [1])
            let stats = try await harness.client.hubStats(HubStatsRequest(hub: "horgos"))
            #expect(stats.sessions == 0)
        }
    }

    @Test("Without a key, each call records", arguments: StoreBackend.available)
    func noKey(backend: StoreBackend) async throws {
        try await withTradeHarness(backend) { harness in
            try await harness.record(sampleFlow())
            try await harness.record(sampleFlow())
            #expect(try await harness.client.listFlows(ListFlowsRequest()).flows.count == 2)
        }
    }

    @Test("Concurrent repeats of one key record once", arguments: StoreBackend.available)
    func concurrentRepeats(backend: StoreBackend) async throws {
        try await withTradeHarness(backend) { harness in
            let ids = try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<16 {
                    group.addTask { try await harness.record(sampleFlow(value: 99), key: "race").id }
                }
                return try await group.reduce(into: Set<String>()) { $0.insert($1) }
            }
            #expect(ids.count == 1)
            #expect(try await harness.client.listFlows(ListFlowsRequest()).flows.count == 1)
        }
    }
}
