import CaravanCore
import CaravanDomain
import CaravanEchoAPI
import CaravanTrainingAPI
import Testing

/// The ledger's primitives over a dictionary, as a store would keep them.
final class MemoryLedger: IdempotencyLedgerStore, @unchecked Sendable {
    // @unchecked Sendable: each test uses one instance from one task.
    var entries: [String: RecordedWrite] = [:]
    var bodyRuns = 0

    nonisolated(nonsending) func claimIdempotencyKey(
        _ key: String, method: String, request: [UInt8], at time: Double
    ) async throws -> RecordedWrite? {
        if let entry = self.entries[key] { return entry }
        self.entries[key] = RecordedWrite(method: method, request: request, response: [])
        return nil
    }

    nonisolated(nonsending) func recordIdempotentResponse(key: String, response: [UInt8]) async throws {
        self.entries[key]?.response = response
    }
}

@Suite("The idempotency ledger")
struct IdempotencyLedgerTests {
    static let method = "/caravan.echo.v1.Echo/Unary"

    static func write(_ ledger: MemoryLedger, key: String?, payload: [UInt8], answer: [UInt8]) async throws
        -> EchoResponse
    {
        let request = try EchoRequest(payload: payload).serializedBytes()
        return try await IdempotencyLedger.once(
            IdempotentWrite(key: key, method: Self.method, request: request), in: ledger
        ) {
            ledger.bodyRuns += 1
            return EchoResponse(payload: answer)
        }
    }

    @Test("A key seen before answers the first answer and does not run the write again")
    func repeats() async throws {
        let ledger = MemoryLedger()
        let first = try await Self.write(ledger, key: "k", payload: [1], answer: [7])
        let second = try await Self.write(ledger, key: "k", payload: [1], answer: [8])
        #expect(first == second && first.payload == [7])
        #expect(ledger.bodyRuns == 1)
    }

    @Test("A key reused for another request is INVALID_ARGUMENT and writes nothing")
    func reused() async throws {
        let ledger = MemoryLedger()
        _ = try await Self.write(ledger, key: "k", payload: [1], answer: [7])
        await #expect(throws: RPCError.self) { try await Self.write(ledger, key: "k", payload: [2], answer: [8]) }
        #expect(ledger.bodyRuns == 1)
    }

    @Test("No key: every call writes; an over-long key is refused before anything runs")
    func unkeyed() async throws {
        let ledger = MemoryLedger()
        _ = try await Self.write(ledger, key: nil, payload: [1], answer: [7])
        _ = try await Self.write(ledger, key: "", payload: [1], answer: [7])
        #expect(ledger.bodyRuns == 2 && ledger.entries.isEmpty)
        let long = String(repeating: "k", count: IdempotentWrite.maximumKeyBytes + 1)
        await #expect(throws: RPCError.self) { try await Self.write(ledger, key: long, payload: [1], answer: [7]) }
        #expect(ledger.bodyRuns == 2)
    }

    @Test("The key comes from the request's field or the call's header; both and different is refused")
    func keyRule() throws {
        let context = ServerContext(descriptor: Echo.Method.unary, idempotencyKey: "header")
        var request = EnrolRequest(traineeId: "trn-1", programId: "prog-1")
        #expect(try IdempotentWrite(request, context: context).key == "header")
        request.idempotencyKey = "header"
        #expect(try IdempotentWrite(request, context: context).key == "header")
        request.idempotencyKey = "field"
        #expect(throws: RPCError.self) { try IdempotentWrite(request, context: context) }
        #expect(try IdempotentWrite(request, context: ServerContext(descriptor: Echo.Method.unary)).key == "field")
        // The key is not part of the request compared on a repeat.
        var other = request
        other.idempotencyKey = ""
        #expect(
            try IdempotentWrite(request, context: ServerContext(descriptor: Echo.Method.unary)).request
                == IdempotentWrite(other, context: context).request)
    }
}

extension EnrolRequest: IdempotentRequest {}
