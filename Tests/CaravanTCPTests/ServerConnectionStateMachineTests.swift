import CaravanCore
import CaravanEcho
import CaravanEchoAPI
import CaravanEnvelope
import NIOCore
import Testing

@testable import CaravanTCP

/// The server connection's rules, driven event by event with no channel and
/// no clock but the one the test passes in.
@Suite("Server connection state machine")
struct ServerConnectionStateMachineTests {
    typealias Machine = ServerConnectionStateMachine<Int>
    static let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
    static let arrival = ContinuousClock.now

    static func machine(maxConcurrentCalls: Int = 8, idleTimeout: TimeAmount = .seconds(300)) -> Machine {
        var router = RPCRouter()
        router.register(EchoService())
        let liveness = ConnectionLiveness(
            keepaliveInterval: .seconds(30), keepaliveTimeout: .seconds(10), idleTimeout: idleTimeout, now: Self.start)
        return Machine(
            router: router,
            limits: .init(maxConcurrentCalls: maxConcurrentCalls, maxMetadataSize: 64, maxFrameSize: 1024),
            liveness: liveness, peer: "test")
    }

    static func request(
        _ callID: UInt32, method: String = Echo.Method.unary.path, timeoutMicros: UInt64 = 0,
        metadata: [MetadataEntry] = [], flags: FrameFlags = [.endStream, .hasMessage], header: [UInt8]? = nil
    ) -> Frame {
        var message = RequestHeader()
        message.method = method
        message.timeoutMicros = timeoutMicros
        message.metadata = metadata
        let bytes = header ?? (try! message.serializedBytes())
        return Frame(kind: .request, flags: flags, callID: callID, header: ByteBuffer(bytes: bytes), payload: ByteBuffer())
    }

    static func frame(_ kind: FrameKind, _ callID: UInt32, flags: FrameFlags = []) -> Frame {
        Frame(kind: kind, flags: flags, callID: callID, header: ByteBuffer(), payload: ByteBuffer(bytes: [1]))
    }

    /// Starts a call and attaches `callID` as its handle.
    @discardableResult
    static func open(_ machine: inout Machine, _ frame: Frame) -> Machine.CallStart? {
        guard case .start(let start) = machine.frameReceived(frame, arrival: Self.arrival) else { return nil }
        machine.attach(Int(start.callID), to: start.callID)
        return start
    }

    static func rejection(_ action: Machine.Action) -> RPCError? {
        if case .reject(_, let error, _) = action { return error }
        return nil
    }

    @Test("A REQUEST starts its call with the deadline counted from its arrival")
    func startsCalls() throws {
        var machine = Self.machine()
        let start = try #require(Self.open(&machine, Self.request(1, timeoutMicros: 250_000)))
        #expect(start.callID == 1)
        #expect(start.route.descriptor == Echo.Method.unary)
        #expect(start.context.deadline == Self.arrival.advanced(by: .milliseconds(250)))
        #expect(start.firstMessage != nil)
        #expect(machine.openCalls == 1)
        let noDeadline = try #require(Self.open(&machine, Self.request(2)))
        #expect(noDeadline.context.deadline == nil)
    }

    @Test("A call id that does not increase ends the connection; 0xFFFFFFFF is the last usable one")
    func callIDsIncrease() {
        var machine = Self.machine()
        Self.open(&machine, Self.request(5))
        guard case .failConnection(.internal, let message, _) = machine.frameReceived(Self.request(5), arrival: Self.arrival)
        else { Issue.record("a repeated id must be fatal"); return }
        #expect(message.contains("not greater"))
        var last = Self.machine()
        #expect(Self.open(&last, Self.request(.max)) != nil)
        guard case .failConnection = last.frameReceived(Self.request(.max), arrival: Self.arrival) else {
            Issue.record("nothing can follow id 0xFFFFFFFF")
            return
        }
    }

    @Test("Requests are checked in the documented order, each failure answering only its call")
    func requestChecks() {
        var machine = Self.machine()
        #expect(Self.rejection(machine.frameReceived(Self.request(1, header: [0xFF, 0xFF]), arrival: Self.arrival))?.code == .invalidArgument)
        let unknown = machine.frameReceived(Self.request(2, method: "/x.Y/Z"), arrival: Self.arrival)
        #expect(Self.rejection(unknown)?.code == .unimplemented)
        let big = [MetadataEntry(key: "k", value: Array(repeating: 1, count: 100))]
        #expect(Self.rejection(machine.frameReceived(Self.request(3, metadata: big), arrival: Self.arrival))?.code == .resourceExhausted)
        let badKey = [MetadataEntry(key: "Upper", value: [])]
        #expect(Self.rejection(machine.frameReceived(Self.request(4, metadata: badKey), arrival: Self.arrival))?.code == .invalidArgument)
        let noMessage = machine.frameReceived(Self.request(5, flags: .endStream), arrival: Self.arrival)
        #expect(Self.rejection(noMessage)?.code == .invalidArgument)
        #expect(Self.open(&machine, Self.request(6)) != nil)
        #expect(machine.openCalls == 1)
    }

    @Test("Past the concurrent-call limit a REQUEST is refused; a finished call makes room")
    func concurrencyLimit() {
        var machine = Self.machine(maxConcurrentCalls: 2)
        Self.open(&machine, Self.request(1))
        Self.open(&machine, Self.request(2))
        #expect(Self.rejection(machine.frameReceived(Self.request(3), arrival: Self.arrival))?.code == .resourceExhausted)
        #expect(machine.handlerFinished(1) != nil)
        #expect(Self.open(&machine, Self.request(4)) != nil)
    }

    @Test("A cancelled, expired or ended call is never answered by its handler")
    func endedCallsStayEnded() {
        var machine = Self.machine()
        Self.open(&machine, Self.request(1))
        guard case .cancel(let handle, thenClose: false) = machine.frameReceived(Self.frame(.cancel, 1), arrival: Self.arrival)
        else { Issue.record("CANCEL must cancel the call"); return }
        #expect(handle == 1)
        #expect(machine.handlerFinished(1) == nil)
        guard case .none = machine.frameReceived(Self.frame(.cancel, 99), arrival: Self.arrival) else {
            Issue.record("a CANCEL for an unknown call is ignored")
            return
        }
        Self.open(&machine, Self.request(2))
        guard case .end(2, 2, let error, _) = machine.deadlinePassed(2) else {
            Issue.record("the deadline must end the call")
            return
        }
        #expect(error.code == .deadlineExceeded)
        #expect(machine.handlerFinished(2) == nil)
        guard case .none = machine.deadlinePassed(2) else { Issue.record("a call ends once"); return }
    }

    @Test("Messages: INVALID_ARGUMENT on a single-request call, delivered on a stream, dropped after its end")
    func streamMessages() {
        var machine = Self.machine()
        Self.open(&machine, Self.request(1))
        guard case .end(1, _, let error, _) = machine.frameReceived(Self.frame(.message, 1, flags: .hasMessage), arrival: Self.arrival)
        else { Issue.record("a MESSAGE on a unary call ends it"); return }
        #expect(error.code == .invalidArgument)
        Self.open(&machine, Self.request(2, method: Echo.Method.bidiStream.path, flags: []))
        guard case .deliver(2, .some, ended: false) = machine.frameReceived(Self.frame(.message, 2, flags: .hasMessage), arrival: Self.arrival)
        else { Issue.record("a stream's message is delivered"); return }
        guard case .deliver(2, nil, ended: true) = machine.frameReceived(Self.frame(.endOfStream, 2), arrival: Self.arrival) else {
            Issue.record("END_OF_STREAM ends the requests")
            return
        }
        guard case .none = machine.frameReceived(Self.frame(.message, 2, flags: .hasMessage), arrival: Self.arrival) else {
            Issue.record("a message after the half-close is dropped")
            return
        }
    }

    @Test("Oversized frames: a new REQUEST or an open call's MESSAGE fails alone; anything else ends the connection")
    func oversized() {
        var machine = Self.machine()
        #expect(Self.rejection(machine.oversizedReceived(kind: .request, callID: 1, length: 5000))?.code == .resourceExhausted)
        guard case .failConnection(.internal, _, _) = machine.frameReceived(Self.request(1), arrival: Self.arrival) else {
            Issue.record("the oversized REQUEST consumed its id")
            return
        }
        var second = Self.machine()
        Self.open(&second, Self.request(1, method: Echo.Method.clientStream.path, flags: []))
        guard case .end(1, _, let error, _) = second.oversizedReceived(kind: .message, callID: 1, length: 5000) else {
            Issue.record("an oversized MESSAGE ends its call")
            return
        }
        #expect(error.code == .resourceExhausted)
        for kind in [FrameKind.ping, FrameKind(rawValue: 0x42), .message] {
            guard case .failConnection(.resourceExhausted, _, _) = second.oversizedReceived(kind: kind, callID: 7, length: 5000)
            else { Issue.record("an oversized \(kind) of no call ends the connection"); return }
        }
    }

    @Test("Draining: GOAWAY with the last id, later REQUESTs UNAVAILABLE, close after the last call")
    func draining() {
        var machine = Self.machine()
        Self.open(&machine, Self.request(3))
        guard case .goAway(_, lastCallID: 3, closeNow: false) = machine.drain() else {
            Issue.record("drain sends GOAWAY and waits for the open call")
            return
        }
        guard case .none = machine.drain() else { Issue.record("a second drain does nothing"); return }
        #expect(Self.rejection(machine.frameReceived(Self.request(4), arrival: Self.arrival))?.code == .unavailable)
        #expect(machine.handlerFinished(3)?.thenClose == true)
        var idle = Self.machine()
        guard case .goAway(_, lastCallID: 0, closeNow: true) = idle.drain() else {
            Issue.record("a connection with no call closes at once")
            return
        }
    }

    @Test("The grace period's end hands back every open call")
    func graceExpiry() {
        var machine = Self.machine()
        Self.open(&machine, Self.request(1))
        Self.open(&machine, Self.request(2))
        _ = machine.drain()
        #expect(Set(machine.graceExpired().compactMap(\.handle)) == [1, 2])
        #expect(machine.openCalls == 0)
    }

    @Test("A client's GOAWAY drains the connection; its open calls finish first")
    func clientGoAway() {
        var machine = Self.machine()
        Self.open(&machine, Self.request(1))
        guard case .none = machine.frameReceived(Self.frame(.goAway, 1), arrival: Self.arrival) else {
            Issue.record("open calls go on")
            return
        }
        #expect(Self.rejection(machine.frameReceived(Self.request(2), arrival: Self.arrival))?.code == .unavailable)
        #expect(machine.handlerFinished(1)?.thenClose == true)
    }

    @Test("Keepalive: a PING after the interval of silence, the close after the timeout, any bytes reset it")
    func keepalive() {
        var machine = Self.machine()
        Self.open(&machine, Self.request(1))  // not idle
        guard case .none = machine.tick(at: Self.start + .seconds(29)) else { Issue.record("too early"); return }
        guard case .sendPing = machine.tick(at: Self.start + .seconds(30)) else { Issue.record("ping due"); return }
        guard case .none = machine.tick(at: Self.start + .seconds(35)) else { Issue.record("waiting for life"); return }
        machine.bytesRead(at: Self.start + .seconds(36))
        guard case .none = machine.tick(at: Self.start + .seconds(45)) else { Issue.record("alive again"); return }
        guard case .sendPing = machine.tick(at: Self.start + .seconds(66)) else { Issue.record("ping due again"); return }
        guard case .close = machine.tick(at: Self.start + .seconds(76)) else { Issue.record("no answer: dead"); return }
    }

    @Test("Idle: no call for the idle timeout sends GOAWAY OK and closes; an open call keeps it")
    func idle() {
        var busy = Self.machine(idleTimeout: .seconds(5))
        Self.open(&busy, Self.request(1))
        busy.bytesRead(at: Self.start + .seconds(9))
        guard case .none = busy.tick(at: Self.start + .seconds(10)) else { Issue.record("a call is open"); return }
        _ = busy.handlerFinished(1)
        guard case .none = busy.tick(at: Self.start + .seconds(11)) else { Issue.record("idle just began"); return }
        guard case .goAway(let message, _, closeNow: true) = busy.tick(at: Self.start + .seconds(16)) else {
            Issue.record("idle for the timeout")
            return
        }
        #expect(message.contains("Idle"))
    }

    @Test("A RESPONSE or an undefined kind from a client is a protocol error")
    func unexpectedKinds() {
        var machine = Self.machine()
        for kind in [FrameKind.response, FrameKind(rawValue: 0x09), FrameKind(rawValue: 0x00)] {
            guard case .failConnection(.internal, _, _) = machine.frameReceived(Self.frame(kind, 0), arrival: Self.arrival) else {
                Issue.record("\(kind) from a client must be fatal")
                return
            }
        }
    }
}
