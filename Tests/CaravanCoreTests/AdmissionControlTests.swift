import CaravanCore
import Testing

@Suite("Admission control: an adaptive concurrency limit")
struct AdaptiveConcurrencyLimitTests {
    let configuration = AdaptiveConcurrencyLimit.Configuration(
        initialLimit: 100, minLimit: 10, maxLimit: 400, windowSamples: 10, baselineWindows: 50)

    /// Feeds `windows` full windows of calls that took `latency`, with
    /// `inFlight` calls running (nil: the limit, a server kept busy).
    func feed(_ limit: inout AdaptiveConcurrencyLimit, windows: Int, latency: Duration, inFlight: Int? = nil) {
        for _ in 0..<windows {
            for _ in 0..<self.configuration.windowSamples {
                limit.record(latency: latency, inFlight: inFlight ?? limit.limit)
            }
        }
    }

    @Test("A busy server whose latency stays flat is let in more calls, up to the ceiling")
    func growsWhileLatencyIsFlat() {
        var limit = AdaptiveConcurrencyLimit(configuration: self.configuration)
        self.feed(&limit, windows: 1, latency: .milliseconds(2))
        let first = limit.limit
        self.feed(&limit, windows: 10, latency: .milliseconds(2))
        #expect(limit.limit > first)
        self.feed(&limit, windows: 500, latency: .milliseconds(2))
        #expect(limit.limit == 400)
    }

    @Test("A server that never fills half its limit does not grow it, but shrinks it when its calls slow down")
    func lightlyLoadedServer() {
        var limit = AdaptiveConcurrencyLimit(configuration: self.configuration)
        self.feed(&limit, windows: 50, latency: .milliseconds(2), inFlight: 3)
        #expect(limit.limit == 100)
        self.feed(&limit, windows: 20, latency: .milliseconds(30), inFlight: 30)
        #expect(limit.limit < 50, "the limit comes down to where it refuses calls")
    }

    @Test("Calls slowing down (a queue forming) shrink the limit, never under the floor; it grows back after")
    func shrinksWhenCallsQueue() {
        var limit = AdaptiveConcurrencyLimit(configuration: self.configuration)
        self.feed(&limit, windows: 20, latency: .milliseconds(2))
        let healthy = limit.limit
        self.feed(&limit, windows: 3, latency: .milliseconds(20))
        #expect(limit.limit < healthy)
        // An overload that lasts does not come to look normal while the baseline remembers.
        self.feed(&limit, windows: 40, latency: .milliseconds(200))
        #expect(limit.limit == 10)
        let overloaded = limit.limit
        self.feed(&limit, windows: 30, latency: .milliseconds(2))
        #expect(limit.limit > overloaded, "latency back to normal lets the limit grow again")
    }

    @Test("A burst that queues microsecond calls for a millisecond or two is not refused")
    func smallQueueingIsAllowed() {
        var limit = AdaptiveConcurrencyLimit(configuration: self.configuration)
        self.feed(&limit, windows: 20, latency: .microseconds(30))
        let healthy = limit.limit
        self.feed(&limit, windows: 20, latency: .milliseconds(3))
        #expect(limit.limit >= healthy, "3 ms is within the 5 ms queueing allowance though 100 times the baseline")
        self.feed(&limit, windows: 5, latency: .milliseconds(40))
        #expect(limit.limit < healthy, "past the allowance the limit shrinks")
    }

    @Test("Configuration values out of range are brought into range")
    func configurationClamps() {
        let configuration = AdaptiveConcurrencyLimit.Configuration(initialLimit: 5000, minLimit: 0, maxLimit: 50)
        #expect(configuration.minLimit == 1 && configuration.maxLimit == 50 && configuration.initialLimit == 50)
    }
}

@Suite("Admission control: admitting and refusing calls")
struct AdmissionControlTests {
    @Test("Calls over the limit are refused RESOURCE_EXHAUSTED with a retry-after hint; a finished call makes room")
    func refusesOverTheLimit() throws {
        let admission = AdmissionControl(
            configuration: .init(initialLimit: 2, minLimit: 2, maxLimit: 2, windowSamples: 1))
        let start = ContinuousClock.now
        let first = try admission.admit(deadline: nil, now: start).get()
        _ = try admission.admit(deadline: nil, now: start).get()
        guard case .failure(let error) = admission.admit(deadline: nil, now: start) else {
            Issue.record("a third call was admitted over a limit of 2")
            return
        }
        #expect(error.code == .resourceExhausted)
        #expect(error.message.contains("limit of 2"))
        #expect((error.retryAfterMilliseconds ?? 0) >= 1)
        admission.finished(first, at: start.advanced(by: .milliseconds(30)))
        #expect(admission.snapshot == (limit: 2, inFlight: 1))
        guard case .failure(let again) = admission.admit(deadline: nil, now: start) else { return }
        Issue.record("a finished call did not make room: \(again)")
    }

    @Test("A call whose deadline is nearer than the fastest recent call took is refused DEADLINE_EXCEEDED at once")
    func refusesCallsThatCannotFinish() throws {
        let admission = AdmissionControl(configuration: .init(windowSamples: 2))
        let start = ContinuousClock.now
        for _ in 0..<2 {
            let ticket = try admission.admit(deadline: nil, now: start).get()
            admission.finished(ticket, at: start.advanced(by: .milliseconds(10)))
        }
        let now = start.advanced(by: .seconds(1))
        guard case .failure(let error) = admission.admit(deadline: now.advanced(by: .milliseconds(2)), now: now) else {
            Issue.record("a call with 2 ms left was admitted when calls take 10 ms")
            return
        }
        #expect(error.code == .deadlineExceeded)
        #expect(error.message.contains("not run"))
        _ = try admission.admit(deadline: now.advanced(by: .milliseconds(50)), now: now).get()
    }

    @Test("A cancelled call gives its place back without counting as a latency sample")
    func cancelledCallsAreNotMeasured() throws {
        let admission = AdmissionControl(configuration: .init(windowSamples: 1))
        let start = ContinuousClock.now
        let ticket = try admission.admit(deadline: nil, now: start).get()
        admission.finished(ticket, at: start.advanced(by: .seconds(30)), measured: false)
        #expect(admission.snapshot.inFlight == 0)
        // No sample: no fastest call yet, so a near deadline is not judged.
        _ = try admission.admit(deadline: start.advanced(by: .milliseconds(1)), now: start).get()
    }
}
