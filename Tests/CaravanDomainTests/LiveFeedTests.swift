import CaravanCore
import CaravanDomain
import Testing

@Suite("LiveFeed: changes handed to the watchers of this process", .timeLimit(.minutes(1)))
struct LiveFeedTests {
    @Test("A watcher gets every change published after it opened, in order, and nothing from before")
    func deliversInOrder() async throws {
        let feed = LiveFeed<Int>()
        feed.publish(0)
        let (received, receive) = AsyncStream<Int?>.makeStream()
        let watcher = Task {
            try await feed.watch {
                receive.yield(nil)
            } _: { change in
                receive.yield(change)
            }
        }
        var iterator = received.makeAsyncIterator()
        #expect(await iterator.next() == .some(nil))  // opened
        #expect(feed.watcherCount == 1)
        for change in 1...3 { feed.publish(change) }
        var seen: [Int] = []
        for _ in 1...3 { seen.append(try #require(await iterator.next() ?? nil)) }
        #expect(seen == [1, 2, 3])
        watcher.cancel()
        try await watcher.value
        #expect(feed.watcherCount == 0)
    }

    @Test("The watch ends without an error when its task is cancelled, and unsubscribes")
    func endsOnCancellation() async throws {
        let feed = LiveFeed<Int>()
        let (opened, open) = AsyncStream<Void>.makeStream()
        let watcher = Task {
            try await feed.watch {
                open.yield()
            } _: { _ in
            }
        }
        for await _ in opened { break }
        watcher.cancel()
        try await watcher.value
        #expect(feed.watcherCount == 0)
    }

    @Test("A watcher more than bufferSize behind gets what it buffered, then RESOURCE_EXHAUSTED")
    func overflowEndsTheWatch() async throws {
        let feed = LiveFeed<Int>(bufferSize: 2)
        let (events, event) = AsyncStream<Int>.makeStream()
        let (gate, release) = AsyncStream<Void>.makeStream()
        let watcher = Task {
            try await feed.watch {
                event.yield(0)
            } _: { change in
                event.yield(change)
                if change == 1 {
                    for await _ in gate { break }  // held while 2, 3 and 4 are published
                }
            }
        }
        var iterator = events.makeAsyncIterator()
        #expect(await iterator.next() == 0)
        feed.publish(1)
        #expect(await iterator.next() == 1)
        for change in 2...4 { feed.publish(change) }  // 2 and 3 fill the buffer; 4 overflows it
        feed.publish(5)  // after the end: not delivered, no crash
        release.yield()
        do {
            try await watcher.value
            Issue.record("the watch ended without an error")
        } catch let error as RPCError {
            #expect(error.code == .resourceExhausted)
            #expect(error.message.contains("more than 2 changes behind"))
        }
        event.finish()
        var rest: [Int] = []
        while let change = await iterator.next() { rest.append(change) }
        #expect(rest == [2, 3])
        #expect(feed.watcherCount == 0)
    }
}
