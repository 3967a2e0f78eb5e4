import CaravanGateway
import CaravanServiceKit
import Testing

@Suite("Replica book: spreading, ejection, cap")
struct ReplicaBookTests {
    let a = Endpoint(host: "10.0.0.1", port: 7001)
    let b = Endpoint(host: "10.0.0.2", port: 7001)

    func book(_ configuration: BackendPoolConfiguration = .defaults) -> ReplicaBook {
        var book = ReplicaBook(configuration: configuration)
        _ = book.setEndpoints([self.a, self.b])
        return book
    }

    @Test("Finished calls alternate round robin; open calls steer to the less loaded replica")
    func spreading() {
        var book = self.book()
        var picks: [Endpoint] = []
        for _ in 0..<4 {
            let endpoint = book.pick()!
            picks.append(endpoint)
            book.finish(endpoint, replicaFailed: false)
        }
        #expect(picks == [self.a, self.b, self.a, self.b])
        // a carries two open calls, b one: the next goes to b.
        _ = book.pick()  // a
        _ = book.pick()  // b
        _ = book.pick()  // a (tie broken by the cursor)
        let next = book.pick()
        #expect(next == self.b)
    }

    @Test("N consecutive UNAVAILABLE eject a replica for the back-off period, doubling on repeat")
    func ejection() {
        let now = ContinuousClock.now
        var book = self.book(BackendPoolConfiguration(ejectionThreshold: 2, baseEjection: .seconds(1)))
        for _ in 0..<2 {
            _ = book.pick(excluding: [self.b], now: now)
            book.finish(self.a, replicaFailed: true, now: now)
        }
        #expect(book.replicas[0].ejectedUntil == now.advanced(by: .seconds(1)))
        for _ in 0..<5 {
            let picked = book.pick(now: now)
            #expect(picked == self.b)
            if let picked { book.finish(picked, replicaFailed: false, now: now) }
        }
        // After the period a is tried again; failing twice more ejects it for twice as long.
        let later = now.advanced(by: .seconds(2))
        for _ in 0..<2 {
            _ = book.pick(excluding: [self.b], now: later)
            book.finish(self.a, replicaFailed: true, now: later)
        }
        #expect(book.replicas[0].ejectedUntil == later.advanced(by: .seconds(2)))
        // A success ends the ejection streak.
        book.finish(self.a, replicaFailed: false, now: later)
        #expect(book.replicas[0].ejectedUntil == nil && book.replicas[0].ejections == 0)
    }

    @Test("With every replica unhealthy the book still picks one (panic), so the pool can recover")
    func panic() {
        var book = self.book()
        book.setHealthy(self.a, false)
        book.setHealthy(self.b, false)
        #expect(book.hasEligibleReplica() == false)
        let panicPick = book.pick()
        let none = book.pick(excluding: [self.a, self.b])
        #expect(panicPick != nil && none == nil)
    }

    @Test("The cap on calls in flight")
    func cap() {
        var book = self.book(BackendPoolConfiguration(maxOutstandingCalls: 2))
        let first = book.admit()
        let second = book.admit()
        let third = book.admit()
        #expect(first && second && !third)
        book.release()
        let fourth = book.admit()
        #expect(fourth)
    }

    @Test("Membership changes keep what is known about replicas that stay")
    func membership() {
        var book = self.book()
        _ = book.pick()
        let c = Endpoint(host: "10.0.0.3", port: 7001)
        let (added, removed) = book.setEndpoints([self.a, c])
        #expect(added == [c] && removed == [self.b])
        #expect(book.replicas.first?.outstanding == 1)
    }
}

@Suite("Retry budget")
struct RetryBudgetTests {
    @Test("Failures drain it below half and stop retries; successes refill it slowly")
    func drainAndRefill() {
        var budget = RetryBudget(maxTokens: 10, tokenRatio: 0.5)
        #expect(budget.allowsRetry)
        for _ in 0..<5 { budget.recordFailure() }
        #expect(budget.tokens == 5 && !budget.allowsRetry)
        budget.recordSuccess()
        #expect(budget.allowsRetry)
        for _ in 0..<100 { budget.recordSuccess() }
        #expect(budget.tokens == 10)
        for _ in 0..<100 { budget.recordFailure() }
        #expect(budget.tokens == 0)
    }
}
