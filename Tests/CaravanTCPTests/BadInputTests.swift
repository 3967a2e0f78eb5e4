import CaravanCore
import CaravanEcho
import CaravanEchoAPI
import CaravanEnvelope
import CaravanServer
import CaravanTCP
import CaravanTestSupport
import NIOCore
import Testing

/// Hostile and broken input over real sockets on 127.0.0.1: each test
/// sends a running server hand-made bytes on a raw connection, checks the
/// answer docs/PROTOCOL.md promises, and checks that a well-behaved client on
/// a second connection completes an echo call meanwhile.
@Suite("Bad input over real sockets", .timeLimit(.minutes(1)))
struct BadInputTests {
    // MARK: Before the first frame

    @Test("Bytes that are not the preface get GOAWAY INTERNAL, then the close")
    func garbageInsteadOfPreface() async throws {
        try await Self.withBadInputServer { _, port in
            let raw = try await RawConnection.connect(port: port, sendPreface: false)
            try await raw.send(Array("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n".utf8))
            try await Self.expectEchoWorks(port: port)
            let goAway = try await Self.expectGoAwayThenClose(raw, code: .internal)
            #expect(goAway.message.contains("preface"))
        }
    }

    @Test(
        "A wrong preface (another version, a wrong byte) gets GOAWAY INTERNAL, then the close",
        arguments: [
            [0x43, 0x52, 0x56, 0x4E, 0x0D, 0x0A, 0x00, 0x02],  // version 2
            [0x43, 0x52, 0x56, 0x4E, 0x0D, 0x0A, 0x01, 0x01],  // version 257
            [0x43, 0x52, 0x56, 0x58],  // "CRVX": wrong before the preface is even complete
            [0x00],
        ] as [[UInt8]]
    )
    func badPreface(preface: [UInt8]) async throws {
        try await Self.withBadInputServer { _, port in
            let raw = try await RawConnection.connect(port: port, sendPreface: false)
            try await raw.send(preface)
            try await Self.expectEchoWorks(port: port)
            _ = try await Self.expectGoAwayThenClose(raw, code: .internal)
        }
    }

    @Test("Random garbage after the preface ends in a GOAWAY and a close, never a hang")
    func garbageAfterPreface() async throws {
        try await Self.withBadInputServer({ $0.frameTimeout = .seconds(2) }) { _, port in
            var random = SplitMix64(seed: 0xBAD_1A9E7)
            for round in 0..<6 {
                let raw = try await RawConnection.connect(port: port)
                // The server may reject the garbage and close before all of it
                // is written; the write failing then is expected, not an error.
                try? await raw.send(random.bytes(count: 4096))
                if round == 0 { try await Self.expectEchoWorks(port: port) }
                let frames = try await raw.framesUntilClose(within: .seconds(5))
                #expect(frames.allSatisfy { $0.kind == .goAway || $0.kind == .response }, "\(frames)")
                let last = try #require(frames.last, "a GOAWAY says why before the close")
                #expect(last.kind == .goAway)
                let code = try GoAway(serializedBytes: last.header).code
                #expect(code == StatusCode.internal.rawValue || code == StatusCode.resourceExhausted.rawValue)
            }
            try await Self.expectEchoWorks(port: port)
        }
    }

    // MARK: Framing errors

    @Test("A length prefix of 0xFFFFFFFF is answered RESOURCE_EXHAUSTED without buffering; closing then is harmless")
    func maximalLengthThenClose() async throws {
        try await Self.withBadInputServer { _, port in
            let raw = try await RawConnection.connect(port: port)
            try await raw.send(
                [0xFF, 0xFF, 0xFF, 0xFF, 0x01, 0x03, 0, 0, 0, 1, 0, 0, 0, 0]
                    + [UInt8](repeating: 0x41, count: 64 * 1024))
            try Self.expectStatus(
                try await raw.nextFrame(), callID: 1, .resourceExhausted, messageContains: "4294967295")
            try await Self.expectEchoWorks(port: port)  // while the server skips the rest of the frame
            await raw.close()
            try await Self.expectEchoWorks(port: port)
        }
    }

    @Test("A truncated frame followed by a close leaves the server unharmed")
    func truncatedThenClose() async throws {
        try await Self.withBadInputServer { _, port in
            let raw = try await RawConnection.connect(port: port)
            try await raw.send(Array(Self.echoCall(callID: 1).prefix(20)))
            await #expect(throws: RawConnectionError.self, "nothing is answered for half a frame") {
                _ = try await raw.nextFrame(within: .milliseconds(300))
            }
            try await Self.expectEchoWorks(port: port)  // while half a frame waits
            await raw.close()
            try await Self.expectEchoWorks(port: port)
        }
    }

    @Test("A truncated frame left hanging is cut off after the frame timeout with GOAWAY INTERNAL")
    func truncatedLeftHanging() async throws {
        // The timeout applies to every connection, the echo check's too: long
        // enough that a loaded machine's scheduling never trips it there.
        try await Self.withBadInputServer({ $0.frameTimeout = .milliseconds(1500) }) { _, port in
            let raw = try await RawConnection.connect(port: port)
            try await raw.send(Array(Self.echoCall(callID: 1).prefix(20)))
            try await Self.expectEchoWorks(port: port)
            let goAway = try await Self.expectGoAwayThenClose(raw, code: .internal)
            #expect(goAway.message.contains("did not finish arriving within 1500 ms"), "\(goAway.message)")
        }
    }

    @Test("Half a preface left hanging is cut off after the frame timeout with GOAWAY INTERNAL")
    func partialPrefaceLeftHanging() async throws {
        try await Self.withBadInputServer({ $0.frameTimeout = .milliseconds(1500) }) { _, port in
            let raw = try await RawConnection.connect(port: port, sendPreface: false)
            try await raw.send(Array(WireFormat.preface.prefix(4)))
            try await Self.expectEchoWorks(port: port)
            let goAway = try await Self.expectGoAwayThenClose(raw, code: .internal)
            #expect(goAway.message.contains("No connection preface within 1500 ms"), "\(goAway.message)")
        }
    }

    @Test("A length shorter than the fixed fields gets GOAWAY INTERNAL, then the close")
    func lengthTooShort() async throws {
        try await Self.withBadInputServer { _, port in
            let raw = try await RawConnection.connect(port: port)
            try await raw.send([0, 0, 0, 5, 0x01, 0x03, 0, 0, 0, 1, 0, 0, 0, 0])
            try await Self.expectEchoWorks(port: port)
            let goAway = try await Self.expectGoAwayThenClose(raw, code: .internal)
            #expect(goAway.message.contains("shorter than the fixed fields"))
        }
    }

    @Test("A header length larger than the frame gets GOAWAY INTERNAL, then the close")
    func headerLongerThanFrame() async throws {
        try await Self.withBadInputServer { _, port in
            let raw = try await RawConnection.connect(port: port)
            try await raw.send([0, 0, 0, 15, 0x01, 0x03, 0, 0, 0, 1, 0, 0, 0, 6, 1, 2, 3, 4, 5])
            try await Self.expectEchoWorks(port: port)
            let goAway = try await Self.expectGoAwayThenClose(raw, code: .internal)
            #expect(goAway.message.contains("Header length 6"))
        }
    }

    @Test(
        "An undefined frame kind gets GOAWAY INTERNAL, then the close", arguments: [0x00, 0x09, 0x7F, 0xFF] as [UInt8])
    func unknownFrameKind(kind: UInt8) async throws {
        try await Self.withBadInputServer { _, port in
            let raw = try await RawConnection.connect(port: port)
            try await raw.sendFrame(kind: FrameKind(rawValue: kind), callID: 1, payload: [1, 2, 3])
            try await Self.expectEchoWorks(port: port)
            let goAway = try await Self.expectGoAwayThenClose(raw, code: .internal)
            #expect(goAway.message.contains("Unexpected UNKNOWN"), "\(goAway.message)")
        }
    }

    @Test("A RESPONSE frame from a client gets GOAWAY INTERNAL, then the close")
    func responseFromClient() async throws {
        try await Self.withBadInputServer { _, port in
            let raw = try await RawConnection.connect(port: port)
            try await raw.sendFrame(kind: .response, flags: .hasMessage, callID: 1, payload: [0x0A, 0x01, 0x01])
            try await Self.expectEchoWorks(port: port)
            let goAway = try await Self.expectGoAwayThenClose(raw, code: .internal)
            #expect(goAway.message.contains("RESPONSE"))
        }
    }

    @Test(
        "A call id that does not increase gets GOAWAY INTERNAL naming the last id, then the close",
        arguments: [[1, 1], [5, 3], [0]] as [[UInt32]]
    )
    func nonIncreasingCallID(ids: [UInt32]) async throws {
        try await Self.withBadInputServer { _, port in
            let raw = try await RawConnection.connect(port: port)
            for id in ids.dropLast() {
                try await raw.send(Self.echoCall(callID: id))
                try Self.expectEchoAnswer(try await raw.nextFrame(), callID: id)
            }
            try await raw.send(Self.echoCall(callID: ids.last!))
            try await Self.expectEchoWorks(port: port)
            let frames = try await raw.framesUntilClose()
            let last = try #require(frames.last)
            #expect(frames.count == 1 && last.kind == .goAway, "no answer for the bad call, only the GOAWAY: \(frames)")
            #expect(last.callID == (ids.count > 1 ? ids[ids.count - 2] : 0), "the GOAWAY names the last accepted id")
            let goAway = try GoAway(serializedBytes: last.header)
            #expect(goAway.code == StatusCode.internal.rawValue)
            #expect(goAway.message.contains("ids must increase"))
        }
    }

    // MARK: Call errors: the call fails, the connection goes on

    @Test("An unknown method is answered UNIMPLEMENTED and the connection goes on")
    func unknownMethod() async throws {
        try await Self.withBadInputServer { _, port in
            let raw = try await RawConnection.connect(port: port)
            try await raw.send(Self.request(method: "/caravan.echo.v1.Echo/Nope", callID: 1, payload: []))
            try Self.expectStatus(
                try await raw.nextFrame(), callID: 1, .unimplemented, messageContains: "/caravan.echo.v1.Echo/Nope")
            try await raw.send(Self.request(method: "/no.such.Service/Unary", callID: 2, payload: []))
            try Self.expectStatus(try await raw.nextFrame(), callID: 2, .unimplemented)
            try await Self.expectEchoWorks(port: port)
            try await raw.send(Self.echoCall(callID: 3))
            try Self.expectEchoAnswer(try await raw.nextFrame(), callID: 3)
        }
    }

    @Test("A payload that is not the method's message is answered INVALID_ARGUMENT and the connection goes on")
    func payloadNotTheMessage() async throws {
        try await Self.withBadInputServer { _, port in
            let raw = try await RawConnection.connect(port: port)
            try await raw.send(Self.request(method: "/caravan.echo.v1.Echo/Unary", callID: 1, payload: [0xFF, 0xFF]))
            try Self.expectStatus(
                try await raw.nextFrame(), callID: 1, .invalidArgument, messageContains: "caravan.echo.v1.EchoRequest")
            try await Self.expectEchoWorks(port: port)
            try await raw.send(Self.echoCall(callID: 2))
            try Self.expectEchoAnswer(try await raw.nextFrame(), callID: 2)
        }
    }

    @Test("A request header that is not a RequestHeader is answered INVALID_ARGUMENT and the connection goes on")
    func malformedRequestHeader() async throws {
        try await Self.withBadInputServer { _, port in
            let raw = try await RawConnection.connect(port: port)
            try await raw.sendFrame(
                kind: .request, flags: [.endStream, .hasMessage], callID: 1, header: [0xFF, 0xFF, 0xFF], payload: [])
            try Self.expectStatus(
                try await raw.nextFrame(), callID: 1, .invalidArgument, messageContains: "request header")
            try await Self.expectEchoWorks(port: port)
            try await raw.send(Self.echoCall(callID: 2))
            try Self.expectEchoAnswer(try await raw.nextFrame(), callID: 2)
        }
    }

    @Test("A unary REQUEST without a message is answered INVALID_ARGUMENT")
    func unaryWithoutMessage() async throws {
        try await Self.withBadInputServer { _, port in
            let raw = try await RawConnection.connect(port: port)
            let header = try RequestHeader(method: "/caravan.echo.v1.Echo/Unary").serializedBytes()
            try await raw.sendFrame(kind: .request, flags: .endStream, callID: 1, header: header)
            try Self.expectStatus(try await raw.nextFrame(), callID: 1, .invalidArgument)
            try await Self.expectEchoWorks(port: port)
            try await raw.send(Self.echoCall(callID: 2))
            try Self.expectEchoAnswer(try await raw.nextFrame(), callID: 2)
        }
    }

    @Test("A MESSAGE on a single-request call ends it INVALID_ARGUMENT")
    func messageOnUnaryCall() async throws {
        try await Self.withBadInputServer { _, port in
            let raw = try await RawConnection.connect(port: port)
            try await raw.send(Self.sleepCall(callID: 1, millis: 5_000))
            try await raw.sendFrame(kind: .message, flags: .hasMessage, callID: 1, payload: [0x08, 0x01])
            try Self.expectStatus(
                try await raw.nextFrame(), callID: 1, .invalidArgument, messageContains: "single request")
            try await Self.expectEchoWorks(port: port)
        }
    }

    @Test("A CANCEL for an unknown or ended call is ignored and the connection keeps working")
    func cancelUnknownCall() async throws {
        try await Self.withBadInputServer { _, port in
            let raw = try await RawConnection.connect(port: port)
            try await raw.sendFrame(kind: .cancel, callID: 42)
            try await raw.sendFrame(kind: .endOfStream, callID: 43)
            try await raw.sendFrame(kind: .message, flags: .hasMessage, callID: 44, payload: [1])
            try await raw.send(Self.echoCall(callID: 1))
            try Self.expectEchoAnswer(try await raw.nextFrame(), callID: 1)
            try await raw.sendFrame(kind: .cancel, callID: 1)  // already ended
            try await raw.send(Self.echoCall(callID: 2))
            try Self.expectEchoAnswer(try await raw.nextFrame(), callID: 2)
            try await Self.expectEchoWorks(port: port)
        }
    }

    @Test("A cancelled call gets no RESPONSE", arguments: ServerConfiguration.HandlerExecution.allCases)
    func cancelledCallGetsNoResponse(placement: ServerConfiguration.HandlerExecution) async throws {
        try await Self.withBadInputServer({ $0.handlerExecution = placement }) { _, port in
            let raw = try await RawConnection.connect(port: port)
            try await raw.send(Self.sleepCall(callID: 1, millis: 300))
            try await raw.sendFrame(kind: .cancel, callID: 1)
            try await Self.expectEchoWorks(port: port)
            try await raw.send(Self.sleepCall(callID: 2, millis: 600))
            // Call 1 would have answered at 300 ms; only call 2's answer comes.
            let next = try await raw.nextFrame()
            #expect(next.callID == 2 && next.kind == .response)
        }
    }

    @Test(
        "The server answers DEADLINE_EXCEEDED when timeout_micros passes",
        arguments: ServerConfiguration.HandlerExecution.allCases)
    func deadlineExceeded(placement: ServerConfiguration.HandlerExecution) async throws {
        try await Self.withBadInputServer({ $0.handlerExecution = placement }) { _, port in
            let raw = try await RawConnection.connect(port: port)
            try await raw.send(Self.sleepCall(callID: 1, millis: 10_000, timeoutMicros: 200_000))
            try Self.expectStatus(try await raw.nextFrame(), callID: 1, .deadlineExceeded)
            try await Self.expectEchoWorks(port: port)
        }
    }

    @Test(
        "Calls sent with 1 µs to live are all answered DEADLINE_EXCEEDED, never OK",
        arguments: ServerConfiguration.HandlerExecution.allCases)
    func expiredCalls(placement: ServerConfiguration.HandlerExecution) async throws {
        try await Self.withBadInputServer({ $0.handlerExecution = placement }) { _, port in
            let raw = try await RawConnection.connect(port: port)
            let message = try EchoRequest(text: "late").serializedBytes()
            var bytes: [UInt8] = []
            for callID in 1...200 {
                bytes += Self.request(
                    method: "/caravan.echo.v1.Echo/Unary", callID: UInt32(callID), payload: message, timeoutMicros: 1)
            }
            try await raw.send(bytes)
            for _ in 1...200 {
                let frame = try await raw.nextFrame()
                #expect(try ResponseHeader(serializedBytes: frame.header).code == StatusCode.deadlineExceeded.rawValue)
            }
            try await Self.expectEchoWorks(port: port)
        }
    }

    @Test(
        "Near their deadline, calls end OK or DEADLINE_EXCEEDED, each answered once",
        arguments: ServerConfiguration.HandlerExecution.allCases)
    func nearExpiryCalls(placement: ServerConfiguration.HandlerExecution) async throws {
        try await Self.withBadInputServer({ $0.handlerExecution = placement }) { _, port in
            let raw = try await RawConnection.connect(port: port)
            let message = try EchoRequest(text: "close call").serializedBytes()
            var bytes: [UInt8] = []
            for callID in 1...300 {
                bytes += Self.request(
                    method: "/caravan.echo.v1.Echo/Unary", callID: UInt32(callID), payload: message,
                    timeoutMicros: UInt64(callID * 10))
            }
            try await raw.send(bytes)
            var answered = Set<UInt32>()
            for _ in 1...300 {
                let frame = try await raw.nextFrame()
                #expect(answered.insert(frame.callID).inserted, "one answer per call")
                let code = frame.header.isEmpty ? 0 : try ResponseHeader(serializedBytes: frame.header).code
                #expect(code == 0 || code == StatusCode.deadlineExceeded.rawValue, "\(code)")
            }
        }
    }

    @Test("A request holding a protobuf group (wire types 3 and 4) is refused INVALID_ARGUMENT")
    func protobufGroups() async throws {
        try await Self.withBadInputServer { _, port in
            let raw = try await RawConnection.connect(port: port)
            // Field 15 as a group: start (wire type 3), a varint inside, end (wire type 4).
            let group: [UInt8] = [0x7B, 0x08, 0x01, 0x7C]
            try await raw.send(Self.request(method: "/caravan.echo.v1.Echo/Unary", callID: 1, payload: group))
            try Self.expectStatus(try await raw.nextFrame(), callID: 1, .invalidArgument)
            try await raw.send(Self.echoCall(callID: 2))
            try Self.expectEchoAnswer(try await raw.nextFrame(), callID: 2)
        }
    }

    // MARK: Limits

    @Test("An oversized REQUEST is answered RESOURCE_EXHAUSTED and the connection keeps working")
    func oversizedRequest() async throws {
        try await Self.withBadInputServer({ $0.maxFrameSize = 1024 }) { _, port in
            let raw = try await RawConnection.connect(port: port)
            try await raw.send(Self.echoCall(callID: 1, payload: [UInt8](repeating: 7, count: 2_000)))
            try Self.expectStatus(
                try await raw.nextFrame(), callID: 1, .resourceExhausted, messageContains: "exceeds the limit of 1024")
            try await raw.send(Self.echoCall(callID: 2))
            try Self.expectEchoAnswer(try await raw.nextFrame(), callID: 2)

            // An oversized MESSAGE on an open client-streaming call ends that call only.
            let header = try RequestHeader(method: "/caravan.echo.v1.Echo/ClientStream").serializedBytes()
            try await raw.sendFrame(kind: .request, flags: [], callID: 3, header: header)
            try await raw.sendFrame(
                kind: .message, flags: .hasMessage, callID: 3, payload: [UInt8](repeating: 1, count: 5_000))
            try Self.expectStatus(try await raw.nextFrame(), callID: 3, .resourceExhausted)
            try await raw.send(Self.echoCall(callID: 4))
            try Self.expectEchoAnswer(try await raw.nextFrame(), callID: 4)
            try await Self.expectEchoWorks(port: port)
        }
    }

    @Test("An oversized frame that belongs to no call gets GOAWAY RESOURCE_EXHAUSTED, then the close")
    func oversizedConnectionFrame() async throws {
        try await Self.withBadInputServer({ $0.maxFrameSize = 1024 }) { _, port in
            let raw = try await RawConnection.connect(port: port)
            try await raw.sendFrame(kind: .ping, callID: 0, payload: [UInt8](repeating: 0, count: 2_000))
            try await Self.expectEchoWorks(port: port)
            _ = try await Self.expectGoAwayThenClose(raw, code: .resourceExhausted)
        }
    }

    @Test("With two calls allowed per connection, a third concurrent call gets RESOURCE_EXHAUSTED")
    func tooManyConcurrentCalls() async throws {
        try await Self.withBadInputServer({ $0.maxConcurrentCallsPerConnection = 2 }) { _, port in
            let raw = try await RawConnection.connect(port: port)
            // Sleeps far longer than the test: an answer before the refusal would be a bug.
            try await raw.send(
                Self.sleepCall(callID: 1, millis: 60_000) + Self.sleepCall(callID: 2, millis: 60_000)
                    + Self.sleepCall(callID: 3, millis: 60_000))
            try Self.expectStatus(try await raw.nextFrame(), callID: 3, .resourceExhausted, messageContains: "limit 2")
            try await Self.expectEchoWorks(port: port)
            // Cancelling the two sleeps frees their slots: the next call is served.
            try await raw.sendFrame(kind: .cancel, callID: 1)
            try await raw.sendFrame(kind: .cancel, callID: 2)
            try await raw.send(Self.echoCall(callID: 4))
            try Self.expectEchoAnswer(try await raw.nextFrame(), callID: 4)
        }
    }

    @Test("Metadata over the size limit is answered RESOURCE_EXHAUSTED; at the limit it is accepted")
    func metadataOverLimit() async throws {
        try await Self.withBadInputServer({ $0.maxMetadataSize = 1024 }) { _, port in
            let raw = try await RawConnection.connect(port: port)
            // key (5 bytes) + value: 1025 bytes in all, one over.
            let over = [MetadataEntry(key: "x-big", value: [UInt8](repeating: 0x61, count: 1020))]
            try await raw.send(Self.echoCall(callID: 1, metadata: over))
            try Self.expectStatus(try await raw.nextFrame(), callID: 1, .resourceExhausted, messageContains: "metadata")
            let atLimit = [MetadataEntry(key: "x-big", value: [UInt8](repeating: 0x61, count: 1019))]
            try await raw.send(Self.echoCall(callID: 2, metadata: atLimit))
            try Self.expectEchoAnswer(try await raw.nextFrame(), callID: 2)
            try await Self.expectEchoWorks(port: port)
        }
    }

    @Test("A metadata key outside [0-9a-z_.-] is answered INVALID_ARGUMENT", arguments: ["X-Upper", "has space", ""])
    func invalidMetadataKey(key: String) async throws {
        try await Self.withBadInputServer { _, port in
            let raw = try await RawConnection.connect(port: port)
            try await raw.send(Self.echoCall(callID: 1, metadata: [MetadataEntry(key: key, value: Array("v".utf8))]))
            try Self.expectStatus(
                try await raw.nextFrame(), callID: 1, .invalidArgument, messageContains: "metadata key")
            try await raw.send(
                Self.echoCall(callID: 2, metadata: [MetadataEntry(key: "ok-key_1.x", value: Array("v".utf8))]))
            try Self.expectEchoAnswer(try await raw.nextFrame(), callID: 2)
            try await Self.expectEchoWorks(port: port)
        }
    }

    // MARK: Helpers

    /// Serves EchoService on 127.0.0.1:0 with a short grace period, the
    /// whole test bounded in time.
    static func withBadInputServer(
        _ configure: @Sendable (inout ServerConfiguration) -> Void = { _ in },
        _ body: @escaping @Sendable (RPCServer, Int) async throws -> Void
    ) async throws {
        var configuration = ServerConfiguration()
        configuration.shutdownGracePeriod = .seconds(1)
        configure(&configuration)
        try await withTimeLimit(.seconds(40)) { [configuration] in
            try await withServer(configuration: configuration) { server, port in
                try await body(server, port)
            }
        }
    }

    /// A well-behaved client on its own connection completes an echo call.
    static func expectEchoWorks(port: Int) async throws {
        try await withClient(port: port) { client, _ in
            let request = EchoRequest(payload: [9, 8, 7], text: "still serving")
            let response = try await EchoClient(wrapping: client).unary(
                request, options: CallOptions(timeout: .seconds(5)))
            #expect(response.payload == [9, 8, 7] && response.text == "still serving")
        }
    }

    /// The connection's last frame before the close is a GOAWAY with `code`.
    static func expectGoAwayThenClose(_ raw: RawConnection, code: StatusCode) async throws -> GoAway {
        let frames = try await raw.framesUntilClose(within: .seconds(5))
        let last = try #require(frames.last, "a GOAWAY before the close")
        #expect(last.kind == .goAway, "the last frame before the close is a GOAWAY: \(frames)")
        let goAway = try GoAway(serializedBytes: last.header)
        #expect(goAway.code == code.rawValue, "GOAWAY code \(goAway.code) (\(goAway.message))")
        return goAway
    }

    /// A RESPONSE ending `callID` with `code`.
    static func expectStatus(
        _ frame: ReceivedFrame, callID: UInt32, _ code: StatusCode, messageContains text: String? = nil,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        #expect(frame.kind == .response, "\(frame)", sourceLocation: sourceLocation)
        #expect(frame.callID == callID, "\(frame)", sourceLocation: sourceLocation)
        let header = try ResponseHeader(serializedBytes: frame.header)
        #expect(header.code == code.rawValue, "got \(header.code): \(header.message)", sourceLocation: sourceLocation)
        if let text {
            #expect(header.message.contains(text), "\(header.message)", sourceLocation: sourceLocation)
        }
        #expect(frame.payload.isEmpty, sourceLocation: sourceLocation)
    }

    /// An OK RESPONSE to ``echoCall(callID:payload:metadata:)``.
    static func expectEchoAnswer(
        _ frame: ReceivedFrame, callID: UInt32, sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        #expect(frame.kind == .response && frame.callID == callID, "\(frame)", sourceLocation: sourceLocation)
        #expect(frame.header.isEmpty, "OK", sourceLocation: sourceLocation)
        #expect(frame.flags.contains(.hasMessage), sourceLocation: sourceLocation)
        let response = try EchoResponse(serializedBytes: frame.payload)
        #expect(response.text == "raw \(callID)", sourceLocation: sourceLocation)
    }

    static func request(
        method: String, callID: UInt32, payload: [UInt8], metadata: [MetadataEntry] = [], timeoutMicros: UInt64 = 0
    ) -> [UInt8] {
        let header = try! RequestHeader(method: method, timeoutMicros: timeoutMicros, metadata: metadata)
            .serializedBytes()
        var buffer = ByteBuffer()
        buffer.writeFrame(
            kind: .request, flags: [.endStream, .hasMessage], callID: callID, header: header, payload: payload)
        return Array(buffer.readableBytesView)
    }

    static func echoCall(callID: UInt32, payload: [UInt8] = [], metadata: [MetadataEntry] = []) -> [UInt8] {
        let message = try! EchoRequest(payload: payload, text: "raw \(callID)").serializedBytes()
        return self.request(method: "/caravan.echo.v1.Echo/Unary", callID: callID, payload: message, metadata: metadata)
    }

    static func sleepCall(callID: UInt32, millis: UInt32, timeoutMicros: UInt64 = 0) -> [UInt8] {
        let message = try! SleepRequest(millis: millis).serializedBytes()
        return self.request(
            method: "/caravan.echo.v1.Echo/Sleep", callID: callID, payload: message, timeoutMicros: timeoutMicros)
    }
}
