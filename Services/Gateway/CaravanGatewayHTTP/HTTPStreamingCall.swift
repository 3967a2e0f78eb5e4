import CaravanCore
import Synchronization

/// Limits and timing of the HTTP door's server-streaming calls.
public struct HTTPStreamingConfiguration: Sendable {
    /// How long the door waits for a stream's first message before it
    /// sends the response head anyway (200, then the messages as they
    /// come). An error within this time is an ordinary JSON error response.
    public var openAfter: Duration = .seconds(1)
    /// An idle server-sent-events stream gets a `: keepalive` comment this often.
    public var keepaliveInterval: Duration = .seconds(15)
    /// Messages waiting for a slow client; one more ends the call with RESOURCE_EXHAUSTED.
    public var maxBufferedMessages: Int = 256

    public init() {}

    public static var defaults: Self { Self() }
}

/// One server-streaming call served over HTTP: the handler runs in the
/// ``HTTPStreamRunner`` and writes here; the HTTP response reads
/// ``events`` and then ``ending``.
///
/// The response may stop reading at any time (the client went away, the
/// server shuts down): it calls ``stop(_:)`` and the call is cancelled.
final class HTTPStreamingCall: Sendable {
    enum Event: Sendable {
        case message([UInt8])
        /// Nothing was sent for a keepalive interval.
        case idle
    }

    /// What the response should do once the stream has had time to open.
    enum Opening: Equatable {
        /// Send the head: messages came, or may still come.
        case stream
        /// It ended before its first message: answer with this status alone.
        case ended(RPCError?)
    }

    private struct State {
        var messages = 0
        /// nil while the call runs; `.some(nil)` when it ended OK.
        var ending: RPCError??
        var stopReason: RPCError?
    }

    let events: AsyncStream<Event>
    private let eventInput: AsyncStream<Event>.Continuation
    /// Finishes at the first message or at the end, whichever comes first.
    private let opened: AsyncStream<Never>
    private let openedInput: AsyncStream<Never>.Continuation
    /// Finishes when the response asks the call to stop.
    private let stopped: AsyncStream<Never>
    private let stoppedInput: AsyncStream<Never>.Continuation
    private let state = Mutex(State())
    private let maxBufferedMessages: Int

    init(maxBufferedMessages: Int) {
        self.maxBufferedMessages = maxBufferedMessages
        (self.events, self.eventInput) = AsyncStream.makeStream(bufferingPolicy: .bufferingOldest(maxBufferedMessages))
        (self.opened, self.openedInput) = AsyncStream.makeStream()
        (self.stopped, self.stoppedInput) = AsyncStream.makeStream()
    }

    /// The status the call ended with; nil while it runs or when it ended OK.
    var ending: RPCError? { self.state.withLock { $0.ending ?? nil } }

    /// Asks the call to end with `reason` (the first reason given wins).
    func stop(_ reason: RPCError) {
        self.state.withLock { state in
            if state.stopReason == nil { state.stopReason = reason }
        }
        self.stoppedInput.finish()
    }

    /// Runs the handler until it ends, the deadline passes or the response
    /// stops it; then ends ``events``.
    func run(
        router: RPCRouter,
        handler: @escaping @Sendable ([UInt8], RawMessageWriter, ServerContext) async throws -> Void,
        request: [UInt8],
        context: ServerContext,
        keepaliveInterval: Duration
    ) async {
        let writer = RawMessageWriter { bytes in try self.deliver(bytes) }
        let ending = await withTaskGroup(of: RPCError??.self, returning: RPCError?.self) { group in
            group.addTask {
                .some(await router.handle(context: context) { context in try await handler(request, writer, context) })
            }
            if let deadline = context.deadline {
                group.addTask {
                    do {
                        try await Task.sleep(until: deadline, clock: .continuous)
                    } catch {
                        return nil
                    }
                    return .some(
                        RPCError(code: .deadlineExceeded, message: "The deadline passed before the stream ended."))
                }
            }
            group.addTask {
                for await _ in self.stopped {}
                if Task.isCancelled { return nil }
                return .some(self.state.withLock { $0.stopReason })
            }
            group.addTask {
                var seen = 0
                while (try? await Task.sleep(for: keepaliveInterval)) != nil {
                    let sent = self.state.withLock { $0.messages }
                    if sent == seen { self.eventInput.yield(.idle) }
                    seen = sent
                }
                return nil
            }
            for await outcome in group {
                if let ending = outcome {
                    group.cancelAll()
                    return ending
                }
            }
            return RPCError(code: .unavailable, message: "The gateway stopped the stream.")
        }
        self.state.withLock { $0.ending = .some(ending) }
        self.eventInput.finish()
        self.openedInput.finish()
    }

    /// Queues one message for the response; throws when the client reads
    /// too slowly or is gone, which ends the handler.
    private func deliver(_ bytes: [UInt8]) throws {
        switch self.eventInput.yield(.message(bytes)) {
        case .enqueued:
            let first = self.state.withLock { state in
                state.messages += 1
                return state.messages == 1
            }
            if first { self.openedInput.finish() }
        case .dropped:
            throw RPCError(
                code: .resourceExhausted,
                message: "The client reads too slowly: \(self.maxBufferedMessages) messages were waiting to be sent.")
        case .terminated:
            throw RPCError(code: .cancelled, message: "The HTTP response has ended.")
        @unknown default:
            throw RPCError(code: .internal, message: "The stream refused a message.")
        }
    }

    /// Waits for the first message or the end, at most `limit`.
    func opening(within limit: Duration) async -> Opening {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { for await _ in self.opened {} }
            group.addTask { try? await Task.sleep(for: limit) }
            await group.next()
            group.cancelAll()
        }
        return self.state.withLock { state in
            if state.messages == 0, let ending = state.ending { return .ended(ending) }
            return .stream
        }
    }
}
