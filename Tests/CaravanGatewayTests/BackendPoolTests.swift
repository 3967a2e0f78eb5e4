import CaravanCore
import CaravanGateway
import CaravanHealthAPI
import Testing

@Suite("Backend pool over fake replicas")
struct BackendPoolTests {
    @Test("Calls spread over both replicas")
    func spreads() async throws {
        let fake = FakePool(2)
        try await fake.running {
            for _ in 0..<10 { _ = try await fake.call() }
        }
        #expect(fake[0].calls == 5 && fake[1].calls == 5)
    }

    @Test("A call never sent is retried by the client on the other replica, without a key")
    func neverSentRetried() async throws {
        let fake = FakePool(2)
        try await fake.running {
            fake[0].set(.refuse)
            for _ in 0..<6 {
                let answer = try await fake.call()
                #expect(answer == "127.0.0.1:7011")
            }
        }
        // After three refusals replica 0 is ejected and no longer picked.
        #expect(fake[0].calls == 3)
    }

    @Test("A call lost after sending is retried only with an idempotency key")
    func lostCallNeedsKey() async throws {
        let fake = FakePool(2)
        try await fake.running {
            fake[0].set(.lose)
            fake[1].set(.lose)
            await #expect(throws: RPCError.self) { try await fake.call() }
            #expect(fake[0].calls + fake[1].calls == 1)
            fake[1].set(.answer)
            // Round robin may land on either; with a key it always ends on replica 1.
            for index in 0..<4 {
                let answer = try await fake.call(idempotencyKey: "k\(index)")
                #expect(answer == "127.0.0.1:7011")
            }
        }
    }

    @Test("Application errors are answers: not retried, no ejection")
    func applicationErrors() async throws {
        let fake = FakePool(2)
        try await fake.running {
            fake[0].set(.fail(.notFound))
            fake[1].set(.fail(.notFound))
            for _ in 0..<6 {
                let error = await #expect(throws: RPCError.self) { try await fake.call(idempotencyKey: "k") }
                #expect(error?.code == .notFound)
            }
        }
        #expect(fake[0].calls + fake[1].calls == 6)
        #expect(fake.pool.replicas.allSatisfy { $0.ejectedUntil == nil })
    }

    @Test("The retry throttle stops retries of sent calls once half drained")
    func throttle() async throws {
        let fake = FakePool(3, configuration: BackendPoolConfiguration(ejectionThreshold: 1000, retryTokens: 4, retryTokenRatio: 0))
        try await fake.running {
            for index in 0..<3 { fake[index].set(.lose) }
            // Each failed attempt takes a token; retries stop once 2 tokens are left.
            for index in 0..<4 {
                await #expect(throws: RPCError.self) { try await fake.call(idempotencyKey: "k\(index)") }
            }
        }
        let attempts = (0..<3).map { fake[$0].calls }.reduce(0, +)
        #expect(attempts == 5, "4 first attempts + 1 retry; got \(attempts)")
        #expect(fake.pool.retryTokens == 0)
    }

    @Test("Past the cap, calls fail RESOURCE_EXHAUSTED at once, never reaching a replica")
    func cap() async throws {
        let fake = FakePool(1, configuration: BackendPoolConfiguration(maxOutstandingCalls: 2))
        try await fake.running {
            fake[0].set(.hold)
            async let first = fake.call()
            async let second = fake.call()
            await fake[0].waitUntilHolding(2)
            let error = await #expect(throws: RPCError.self) { try await fake.call() }
            #expect(error?.code == .resourceExhausted && error?.neverSent == true)
            #expect(fake[0].calls == 2, "the third call must not reach the replica")
            fake[0].set(.answer)
            fake[0].release()
            _ = try await (first, second)
            let answer = try await fake.call()
            #expect(answer == "127.0.0.1:7001")
        }
    }

    @Test("No retry whose pause would end after the deadline")
    func deadline() async throws {
        var configuration = BackendPoolConfiguration()
        configuration.retryPolicy = RetryPolicy(maxAttempts: 3, initialBackoff: .seconds(10), maxBackoff: .seconds(10))
        let fake = FakePool(2, configuration: configuration)
        try await fake.running {
            fake[0].set(.lose)
            fake[1].set(.lose)
            let error = await #expect(throws: RPCError.self) { try await fake.call(idempotencyKey: "k", deadline: .seconds(5)) }
            #expect(error?.code == .unavailable)
        }
        #expect(fake[0].calls + fake[1].calls == 1)
    }

    @Test("A pool waits for a replica's connection, and fails at once, saying why, when every replica is failing")
    func readiness() async throws {
        let fake = FakePool(2)
        try await fake.running {
            fake[0].report(.failing("connection refused"))
            for _ in 0..<4 {
                let answer = try await fake.call()
                #expect(answer == "127.0.0.1:7011")
            }
            fake[1].report(.failing("no route to host"))
            let error = await #expect(throws: RPCError.self) { try await fake.call() }
            #expect(error?.code == .unavailable && error?.neverSent == true)
            #expect(error?.message.contains("127.0.0.1:7001: connection refused") == true, "\(String(describing: error))")
            #expect(error?.message.contains("127.0.0.1:7011: no route to host") == true)
            fake[1].report(.connecting)
            async let waiting = fake.call()
            fake[1].report(.ready)
            let answer = try await waiting
            #expect(answer == "127.0.0.1:7011")
        }
        #expect(fake[0].calls == 0)
    }

    @Test("Health is watched: NOT_SERVING takes a replica out at once, SERVING brings it back, a watch that ends counts as down")
    func watchesHealth() async throws {
        let fake = FakePool(2, configuration: BackendPoolConfiguration(healthRewatchDelay: .milliseconds(20)))
        let (a, b) = (fake.endpoints[0], fake.endpoints[1])
        try await fake.running {
            fake[0].setHealth(.notServing)
            try await fake.pool.replicaPool.waitUntil(a) { !$0.healthy }
            for _ in 0..<6 {
                let answer = try await fake.call()
                #expect(answer == "127.0.0.1:7011")
            }
            #expect(fake[0].calls == 0)

            fake[0].setHealth(.serving)
            try await fake.pool.replicaPool.waitUntil(a) { $0.healthy }
            for _ in 0..<6 { _ = try await fake.call() }
            #expect(fake[0].calls == 3 && fake[1].calls == 9)

            // A draining server ends its watches; the re-watch says NOT_SERVING.
            fake[1].setHealth(.notServing)
            fake[1].endHealthWatches()
            try await fake.pool.replicaPool.waitUntil(b) { !$0.healthy }
            #expect(fake.pool.replicas.map(\.healthy) == [true, false])
        }
    }
}
