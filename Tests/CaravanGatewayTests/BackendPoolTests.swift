import CaravanCore
import CaravanGateway
import CaravanHealthAPI
import CaravanServiceKit
import CaravanTestSupport
import Testing

@Suite("Backend pool over fake replicas")
struct BackendPoolTests {
    @Test("Calls spread over both replicas")
    func spreads() async throws {
        let fake = FakePool(2)
        for _ in 0..<10 { _ = try await fake.call() }
        #expect(fake[0].calls == 5 && fake[1].calls == 5)
    }

    @Test("A call never sent is retried on the other replica, without a key")
    func neverSentRetried() async throws {
        let fake = FakePool(2)
        fake[0].set(.refuse)
        for _ in 0..<6 { #expect(try await fake.call() == "127.0.0.1:7011") }
        // After three refusals replica 0 is ejected and no longer tried first.
        #expect(fake[0].calls == 3)
    }

    @Test("A call lost after sending is retried only with an idempotency key")
    func lostCallNeedsKey() async throws {
        let fake = FakePool(2)
        fake[0].set(.lose)
        fake[1].set(.lose)
        await #expect(throws: RPCError.self) { try await fake.call() }
        #expect(fake[0].calls + fake[1].calls == 1)
        fake[1].set(.answer)
        // Round robin may land on either; with a key it always ends on replica 1.
        for index in 0..<4 { #expect(try await fake.call(idempotencyKey: "k\(index)") == "127.0.0.1:7011") }
    }

    @Test("Application errors are answers: not retried, no ejection")
    func applicationErrors() async throws {
        let fake = FakePool(2)
        fake[0].set(.fail(.notFound))
        fake[1].set(.fail(.notFound))
        for _ in 0..<6 {
            let error = await #expect(throws: RPCError.self) { try await fake.call(idempotencyKey: "k") }
            #expect(error?.code == .notFound)
        }
        #expect(fake[0].calls + fake[1].calls == 6)
        #expect(fake.pool.replicas.allSatisfy { $0.ejectedUntil == nil })
    }

    @Test("The retry budget stops retries of sent calls once half drained")
    func budget() async throws {
        let fake = FakePool(
            3, configuration: BackendPoolConfiguration(ejectionThreshold: 1000, retryBudget: RetryBudget(maxTokens: 4, tokenRatio: 0)))
        for index in 0..<3 { fake[index].set(.lose) }
        // Each call's first failure takes a token; retries stop once 2 tokens are left.
        for index in 0..<4 {
            await #expect(throws: RPCError.self) { try await fake.call(idempotencyKey: "k\(index)") }
        }
        let attempts = (0..<3).map { fake[$0].calls }.reduce(0, +)
        #expect(attempts == 5, "4 first attempts + 1 retry; got \(attempts)")
        #expect(fake.pool.retryTokens == 0)
    }

    @Test("Past the cap, calls fail RESOURCE_EXHAUSTED at once")
    func cap() async throws {
        let fake = FakePool(1, configuration: BackendPoolConfiguration(maxOutstandingCalls: 2))
        fake[0].set(.hold)
        async let first = fake.call()
        async let second = fake.call()
        try await fake[0].waitForCalls(2)
        let error = await #expect(throws: RPCError.self) { try await fake.call() }
        #expect(error?.code == .resourceExhausted)
        #expect(fake[0].calls == 2, "the third call must not reach the replica")
        fake[0].release()
        _ = try await (first, second)
        fake[0].set(.answer)
        #expect(try await fake.call() == "127.0.0.1:7001")
    }

    @Test("No retry after the deadline")
    func deadline() async throws {
        let fake = FakePool(2)
        fake[0].set(.delay(.milliseconds(10)))
        fake[1].set(.lose)
        fake[0].set(.lose)
        await #expect(throws: RPCError.self) { try await fake.call(idempotencyKey: "k", deadline: .zero) }
        #expect(fake[0].calls + fake[1].calls == 1)
    }

    @Test("Health is watched: NOT_SERVING takes a replica out at once, SERVING brings it back, a watch that ends counts as down")
    func watchesHealth() async throws {
        let fake = FakePool(2, configuration: BackendPoolConfiguration(healthRewatchDelay: .milliseconds(20)))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await fake.pool.run() }
            func waitFor(_ healthy: [Bool]) async throws {
                _ = try await eventually(every: .milliseconds(5)) { fake.pool.replicas.map(\.healthy) == healthy }
                #expect(fake.pool.replicas.map(\.healthy) == healthy)
            }
            try await waitFor([true, true])

            fake[0].setHealth(.notServing)
            try await waitFor([false, true])
            for _ in 0..<6 { #expect(try await fake.call() == "127.0.0.1:7011") }
            #expect(fake[0].calls == 0)

            fake[0].setHealth(.serving)
            try await waitFor([true, true])
            for _ in 0..<6 { _ = try await fake.call() }
            #expect(fake[0].calls == 3 && fake[1].calls == 9)

            // A draining server ends its watches; the re-watch says NOT_SERVING.
            fake[1].setHealth(.notServing)
            fake[1].endHealthWatches()
            try await waitFor([true, false])
            fake.pool.shutDown()
            try await group.waitForAll()
        }
    }
}
