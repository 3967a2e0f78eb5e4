import CaravanCore
import NIOCore
import Testing

@testable import CaravanTCP

/// The client connection's rules, driven event by event.
@Suite("Client connection state machine")
struct ClientConnectionStateMachineTests {
    typealias Machine = ClientConnectionStateMachine<String>
    static let start = NIODeadline.uptimeNanoseconds(1_000_000_000)

    static func machine(firstCallID: UInt32 = 1) -> Machine {
        Machine(
            liveness: ConnectionLiveness(
                keepaliveInterval: .seconds(30), keepaliveTimeout: .seconds(10), idleTimeout: nil, now: Self.start),
            firstCallID: firstCallID)
    }

    static func id(_ verdict: (Machine.StartVerdict, spentIDs: Bool)) -> UInt32? {
        if case .send(let callID) = verdict.0 { return callID }
        return nil
    }

    @Test("Calls get increasing ids from 1; a RESPONSE ends its call once")
    func ids() {
        var machine = Self.machine()
        #expect(Self.id(machine.startCall("a")) == 1)
        #expect(Self.id(machine.startCall("b")) == 2)
        #expect(machine.responseReceived(1)?.call == "a")
        #expect(machine.responseReceived(1) == nil)
        #expect(machine.openCalls == 1)
    }

    @Test("GOAWAY: calls above its id fail never sent, the rest finish, new calls go elsewhere, then it closes")
    func goAway() throws {
        var machine = Self.machine()
        for name in ["a", "b", "c"] { _ = machine.startCall(name) }
        let verdict = machine.goAwayReceived(lastCallID: 1, code: 0, message: "The server is shutting down.")
        #expect(Set(verdict.unprocessed) == ["b", "c"])
        #expect(verdict.unusable == .goneAway)
        #expect(!verdict.thenClose)
        guard case .refuse(let error) = machine.startCall("d").0 else {
            Issue.record("a draining connection takes no call")
            return
        }
        #expect(error.neverSent && error.code == .unavailable)
        #expect(machine.responseReceived(1)?.thenClose == true)
    }

    @Test("A GOAWAY with an error code carries the server's words to the calls that follow")
    func refusal() {
        var machine = Self.machine()
        let verdict = machine.goAwayReceived(lastCallID: 0, code: 8, message: "Too many connections (limit 4)." )
        #expect(verdict.unusable == .refused("Too many connections (limit 4)."))
        guard case .refuse(let error) = machine.startCall("late").0 else {
            Issue.record("refused")
            return
        }
        #expect(error.message.contains("Too many connections (limit 4)."))
    }

    @Test("The last usable id opens its call and drains the connection")
    func idsSpent() {
        var machine = Self.machine(firstCallID: Machine.lastUsableCallID - 1)
        #expect(!machine.startCall("before").spentIDs)
        let last = machine.startCall("last")
        #expect(Self.id(last) == Machine.lastUsableCallID)
        #expect(last.spentIDs)
        guard case .refuse = machine.startCall("next").0 else { Issue.record("no id is left"); return }
        #expect(machine.responseReceived(Machine.lastUsableCallID - 1)?.thenClose == false)
        #expect(machine.responseReceived(Machine.lastUsableCallID)?.thenClose == true)
    }

    @Test("Closing with calls open says GOAWAY with the last id and closes after them")
    func closing() {
        var machine = Self.machine()
        _ = machine.startCall("a")
        let close = machine.closeRequested()
        #expect(close.goAway == 1 && !close.closeNow)
        #expect(machine.responseReceived(1)?.thenClose == true)
        var idle = Self.machine()
        #expect(idle.closeRequested().closeNow)
    }

    @Test("Keepalive on the client: ping after silence, close when nothing comes back")
    func keepalive() {
        var machine = Self.machine()
        #expect(machine.tick(at: Self.start + .seconds(30)) == .sendPing)
        #expect(machine.tick(at: Self.start + .seconds(40)) == .peerUnresponsive)
        var alive = Self.machine()
        #expect(alive.tick(at: Self.start + .seconds(30)) == .sendPing)
        alive.bytesRead(at: Self.start + .seconds(31))
        #expect(alive.tick(at: Self.start + .seconds(40)) == .none)
    }

    @Test("When the channel closes every open call comes back to be failed")
    func closed() {
        var machine = Self.machine()
        _ = machine.startCall("a")
        _ = machine.startCall("b")
        #expect(Set(machine.closed()) == ["a", "b"])
        guard case .refuse = machine.startCall("c").0 else { Issue.record("closed"); return }
    }
}
