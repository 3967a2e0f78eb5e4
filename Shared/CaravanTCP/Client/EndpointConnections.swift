import Atomics
import CaravanCore
import NIOConcurrencyHelpers
import NIOCore

/// The connections to one endpoint, kept up: a ``ReplicaChannel`` of a
/// ``ReplicaPool``. Each of its slots connects, serves calls while the
/// connection lasts, and reconnects with back-off and jitter when it
/// fails; a connection the server closed in good order (idle, draining) is
/// made again only when a call needs it. Calls go out on a ready connection,
/// preferring one on the caller's own event loop; this layer never waits
/// and never retries.
final class EndpointConnections: ReplicaChannel {
    let endpoint: Endpoint
    private let configuration: ClientConfiguration
    private let connector: TCPConnector
    private let readinessChanged: @Sendable (ReplicaReadiness) -> Void
    private let state: NIOLockedValueBox<State>
    private let nextPick = ManagedAtomic<Int>(0)

    private enum Slot {
        case connecting
        case ready(ClientConnection)
        case failing(String)
        case idle
    }

    private struct State {
        var slots: [Slot]
        var readiness = ReplicaReadiness.connecting
        var isShutdown = false
        /// Wakes a sleeping slot (reconnect now, or shut down).
        var wakeups: [Int: EventLoopPromise<Void>] = [:]
        /// Idle slots asked to reconnect before they slept.
        var wakeRequests: Set<Int> = []
    }

    init(
        endpoint: Endpoint, configuration: ClientConfiguration, group: any EventLoopGroup,
        readinessChanged: @escaping @Sendable (ReplicaReadiness) -> Void
    ) {
        self.endpoint = endpoint
        self.configuration = configuration
        self.connector = TCPConnector(endpoint: endpoint, configuration: configuration, group: group)
        self.readinessChanged = readinessChanged
        self.state = NIOLockedValueBox(
            State(slots: Array(repeating: .connecting, count: configuration.connectionsPerEndpoint)))
    }

    /// The event loops of the connections ready now.
    var readyEventLoops: [any EventLoop] {
        self.state.withLockedValue { state in
            state.slots.compactMap { if case .ready(let connection) = $0 { connection.eventLoop } else { nil } }
        }
    }

    // MARK: Calls

    func unary(descriptor: MethodDescriptor, request: [UInt8], options: ResolvedCallOptions) async throws -> [UInt8] {
        let header = try RequestHeaderTemplate(descriptor: descriptor, options: options)
        try self.checkFrameSize(header.untimedCount + 11 + request.count, descriptor: descriptor)
        let connection = try self.readyConnection()
        return try await connection.unary(OutboundRequest(header: header, payload: request, flags: [.endStream, .hasMessage]))
    }

    func streaming<Result: Sendable>(
        descriptor: MethodDescriptor, options: ResolvedCallOptions,
        requests: @escaping @Sendable (RawMessageWriter) async throws -> Void,
        responses: (RawMessageStream) async throws -> Result
    ) async throws -> Result {
        let header = try RequestHeaderTemplate(descriptor: descriptor, options: options)
        let call = try self.readyConnection().openStream()
        let writer = StreamRequestWriter(call: call, header: header) { size in
            try self.checkFrameSize(size, descriptor: descriptor)
        }
        return try await withTaskCancellationHandler {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    do {
                        try await requests(writer.writer)
                    } catch {
                        call.cancel()
                        throw error
                    }
                    try await writer.finish()
                }
                do {
                    let result = try await responses(call.responses)
                    call.cancel()
                    try await group.waitForAll()
                    return result
                } catch {
                    call.cancel()
                    group.cancelAll()
                    throw error
                }
            }
        } onCancel: {
            call.cancel()
        }
    }

    /// A ready connection: on the caller's event loop if one is (a caller
    /// running there costs no thread hand-off), otherwise the next in turn.
    private func readyConnection() throws -> ClientConnection {
        let start = self.nextPick.loadThenWrappingIncrement(ordering: .relaxed)
        let connection = self.state.withLockedValue { state -> ClientConnection? in
            var any: ClientConnection?
            for offset in 0..<state.slots.count {
                if case .ready(let connection) = state.slots[(start &+ offset) % state.slots.count] {
                    if connection.eventLoop.inEventLoop { return connection }
                    any = any ?? connection
                }
            }
            return any
        }
        guard let connection else {
            throw RPCError(
                code: .unavailable, message: "No connection to \(self.endpoint) is ready.",
                cause: CallNeverSent("no connection"))
        }
        return connection
    }

    /// Refuses, before sending, a frame the server would refuse for its size.
    private func checkFrameSize(_ bodySize: Int, descriptor: MethodDescriptor) throws {
        let length = WireFormat.fixedFieldsSize + bodySize
        guard length <= self.configuration.maxFrameSize else {
            throw RPCError(
                code: .resourceExhausted,
                message:
                    "A \(length)-byte frame for \(descriptor.path) exceeds the limit of \(self.configuration.maxFrameSize) bytes.",
                cause: CallNeverSent("frame too large"))
        }
    }

    // MARK: Keeping connections up

    func run() async {
        await withDiscardingTaskGroup { group in
            for index in 0..<self.configuration.connectionsPerEndpoint {
                group.addTask { await self.maintain(slot: index) }
            }
        }
    }

    private func maintain(slot index: Int) async {
        var failures = 0
        while !self.state.withLockedValue({ $0.isShutdown }) {
            do {
                let (connection, unusable) = try await self.connector.connect()
                failures = 0
                if !self.setSlot(index, .ready(connection)) { connection.close() }
                switch (try? await unusable.get()) ?? .lost {
                case .goneAway:
                    self.setSlot(index, .idle)
                    await self.pause(.seconds(86_400 * 365), slot: index)
                case .refused(let message):
                    failures += 1
                    self.setSlot(index, .failing("the server refused the connection: \(message)"))
                    await self.pause(self.configuration.backoff(afterFailures: failures), slot: index)
                case .lost:
                    break
                }
                self.setSlot(index, .connecting)
            } catch {
                failures += 1
                self.setSlot(index, .failing(ConnectionErrorDescription.describe(error)))
                await self.pause(self.configuration.backoff(afterFailures: failures), slot: index)
            }
        }
        if case .ready(let connection) = self.state.withLockedValue({ $0.slots[index] }) { connection.close() }
    }

    /// Sets a slot and reports the channel's readiness if it changed —
    /// under the lock, so that reports from several slots arrive in order
    /// (the pool never calls into a channel while holding its own lock).
    /// Returns false when the channel was shut down meanwhile.
    @discardableResult
    private func setSlot(_ index: Int, _ slot: Slot) -> Bool {
        self.state.withLockedValue { state in
            state.slots[index] = slot
            let readiness = Self.readiness(of: state.slots)
            if readiness != state.readiness {
                state.readiness = readiness
                self.readinessChanged(readiness)
            }
            return !state.isShutdown
        }
    }

    private static func readiness(of slots: [Slot]) -> ReplicaReadiness {
        var connecting = false
        var idle = false
        var failure = ""
        for slot in slots {
            switch slot {
            case .ready: return .ready
            case .connecting: connecting = true
            case .idle: idle = true
            case .failing(let reason): failure = reason
            }
        }
        return connecting ? .connecting : idle ? .idle : .failing(failure)
    }

    private func pause(_ duration: Duration, slot index: Int) async {
        let eventLoop = self.connector.group.next()
        let wakeup = eventLoop.makePromise(of: Void.self)
        let registered = self.state.withLockedValue { state -> Bool in
            guard !state.isShutdown, state.wakeRequests.remove(index) == nil else { return false }
            state.wakeups[index] = wakeup
            return true
        }
        guard registered else {
            wakeup.succeed(())
            return
        }
        let timer = eventLoop.scheduleTask(in: duration.nio) { wakeup.succeed(()) }
        try? await wakeup.futureResult.get()
        timer.cancel()
        _ = self.state.withLockedValue { $0.wakeups.removeValue(forKey: index) }
    }

    func connect() {
        let wakeups = self.state.withLockedValue { state -> [EventLoopPromise<Void>] in
            var wakeups: [EventLoopPromise<Void>] = []
            for (index, slot) in state.slots.enumerated() {
                guard case .idle = slot else { continue }
                if let wakeup = state.wakeups.removeValue(forKey: index) {
                    wakeups.append(wakeup)
                } else {
                    state.wakeRequests.insert(index)
                }
            }
            return wakeups
        }
        for wakeup in wakeups { wakeup.succeed(()) }
    }

    /// Stops reconnecting and closes every connection once its open calls
    /// have finished.
    func close() {
        let (wakeups, connections) = self.state.withLockedValue { state in
            state.isShutdown = true
            let connections = state.slots.compactMap { if case .ready(let connection) = $0 { connection } else { nil } }
            return (Array(state.wakeups.values), connections)
        }
        for wakeup in wakeups { wakeup.succeed(()) }
        for connection in connections { connection.close() }
    }
}
