import CaravanCore
import CaravanEchoAPI
import CaravanEnvelope
import CaravanServer
import Foundation
import NIOCore
import Testing

@testable import CaravanTCP

/// The test vectors of docs/PROTOCOL.md, byte for byte: the code produces
/// them, the decoder reads them back, the document holds exactly these, and
/// a live server answers with them.
@Suite("Golden vectors", .timeLimit(.minutes(1)))
struct GoldenVectorTests {
    @Test("writeFrame and the generated header messages produce each documented vector", arguments: GoldenVector.all)
    func encodes(_ vector: GoldenVector) throws {
        #expect(Hex.string(try vector.encode()) == vector.hex)
    }

    @Test("FrameDecoder decodes each frame vector back into the same fields", arguments: GoldenVector.frames)
    func decodes(_ vector: GoldenVector) throws {
        let expected = try #require(vector.frame)
        var buffer = ByteBuffer(bytes: try Hex.bytes(vector.hex))
        var decoder = FrameDecoder(maxFrameSize: 4 * 1024 * 1024)
        let inbound = try decoder.decode(buffer: &buffer)
        let frame = try #require(inbound?.frame, "a whole frame decodes")
        #expect(buffer.readableBytes == 0, "the frame is consumed exactly")
        #expect(frame.kind == expected.kind)
        #expect(frame.flags == expected.flags)
        #expect(frame.callID == expected.callID)

        let header = Array(frame.header.readableBytesView)
        switch expected.header {
        case .none: #expect(header.isEmpty)
        case .request(let message): #expect(try RequestHeader(serializedBytes: header) == message)
        case .response(let message): #expect(try ResponseHeader(serializedBytes: header) == message)
        case .goAway(let message): #expect(try GoAway(serializedBytes: header) == message)
        }
        let payload = Array(frame.payload.readableBytesView)
        switch expected.payload {
        case .none: #expect(payload.isEmpty)
        case .raw(let raw): #expect(payload == raw)
        case .echoRequest(let message): #expect(try EchoRequest(serializedBytes: payload) == message)
        case .echoResponse(let message): #expect(try EchoResponse(serializedBytes: payload) == message)
        }
    }

    @Test("docs/PROTOCOL.md holds exactly these vectors, with the same bytes")
    func documentMatches() throws {
        let documented = try DocumentedVectors.load()
        #expect(documented.map(\.name) == GoldenVector.all.map(\.name), "the same vectors, in the same order")
        for vector in GoldenVector.all {
            guard let entry = documented.first(where: { $0.name == vector.name }) else { continue }
            #expect(entry.hex == vector.hex, "vector \(vector.name) differs between PROTOCOL.md and the test")
        }
    }

    @Test("The documented vectors parse: a decoder that follows the document reads each frame's length right")
    func documentedLengthsAreConsistent() throws {
        for entry in try DocumentedVectors.load() where entry.name != "preface" {
            let frame = try Hex.bytes(entry.hex)
            let length = frame.prefix(4).reduce(0) { $0 << 8 | Int($1) }
            #expect(length == frame.count - 4, "\(entry.name): length counts every byte after itself")
            let headerLength = frame[10..<14].reduce(0) { $0 << 8 | Int($1) }
            #expect(headerLength <= length - 10, "\(entry.name): header fits in the frame")
        }
    }

    @Test("The preface constant is the documented one")
    func preface() throws {
        #expect(WireFormat.preface == (try Hex.bytes(GoldenVector.named("preface").hex)))
    }

    @Test("An all-default ResponseHeader encodes as zero bytes (OK)")
    func okHeaderIsEmpty() throws {
        #expect(try ResponseHeader().serializedBytes() == [])
        #expect(try ResponseHeader(serializedBytes: []) == ResponseHeader())
        #expect(FrameHeaders.error(from: ResponseHeader()) == nil)
    }

    @Test("The server's error encoding gives the documented NOT_FOUND response")
    func serverErrorEncoding() throws {
        var buffer = ByteBuffer()
        FrameHeaders.writeErrorResponse(RPCError(code: .notFound, message: "no such flow"), callID: 2, into: &buffer)
        #expect(Hex.string(Array(buffer.readableBytesView)) == GoldenVector.named("response-not-found").hex)
        let header = try ResponseHeader(serializedBytes: try Hex.bytes("0805120c6e6f207375636820666c6f77"))
        #expect(FrameHeaders.error(from: header) == RPCError(code: .notFound, message: "no such flow"))
    }

    @Test("The client's request header encoding gives the documented header, its timeout measured as the frame is written")
    func clientRequestHeaderEncoding() throws {
        let descriptor = MethodDescriptor(service: "caravan.echo.v1.Echo", method: "Unary")
        let plain = try RequestHeaderTemplate(descriptor: descriptor, options: ResolvedCallOptions())
        #expect(try Self.headerBytes(plain, now: .now) == GoldenVector.unaryHeader.serializedBytes())

        var metadata = Metadata()
        metadata.addString("r-42", forKey: "x-request-id")
        let now = ContinuousClock.now
        let options = ResolvedCallOptions(
            deadline: now.advanced(by: .milliseconds(1500)), metadata: metadata, idempotencyKey: "order-7f3a")
        let template = try RequestHeaderTemplate(descriptor: descriptor, options: options)
        // Written at `now`: exactly the documented 1.5 s; the same bytes libprotobuf-c gives for the whole header.
        let written = try Self.headerBytes(template, now: now)
        #expect(written == (try GoldenVector.optionsHeader.serializedBytes()))
        #expect(try RequestHeader(serializedBytes: written) == GoldenVector.optionsHeader)
        // Written 500 ms later, the frame says 1 s.
        let later = try RequestHeader(serializedBytes: try Self.headerBytes(template, now: now.advanced(by: .milliseconds(500))))
        #expect(later.timeoutMicros == 1_000_000)
    }

    /// The header bytes of a REQUEST frame written from `template` at `now`.
    static func headerBytes(_ template: RequestHeaderTemplate, now: ContinuousClock.Instant) throws -> [UInt8] {
        var buffer = ByteBuffer()
        buffer.writeRequestFrame(callID: 1, flags: [], header: template, payload: nil, now: now)
        var decoder = FrameDecoder(maxFrameSize: 1 << 20)
        guard case .frame(let frame) = try decoder.decode(buffer: &buffer) else { throw FrameProtocolError("no frame") }
        return Array(frame.header.readableBytesView)
    }

    /// Sends the request-side vectors to a real server over a socket and
    /// checks its answers against the response-side vectors, byte for byte.
    @Test("A live server answers the documented requests with the documented bytes")
    func liveServer() async throws {
        try await withTimeLimit(.seconds(30)) { try await Self.talkToLiveServer() }
    }

    static func talkToLiveServer() async throws {
        try await withServer { server, port in
            let connection = try await RawConnection.connect(port: port, sendPreface: false)
            try await connection.send(try Hex.bytes(GoldenVector.named("preface").hex))

            // Call 1: the unary request; the answer is response-ok exactly.
            try await connection.send(try Hex.bytes(GoldenVector.named("unary-request").hex))
            let ok = try await connection.nextFrame()
            #expect(Hex.string(ok.bytes) == GoldenVector.named("response-ok").hex)

            // Call 2: Echo/Fail with NOT_FOUND "no such flow"; the answer is response-not-found exactly.
            let fail = try FailRequest(code: 5, message: "no such flow").serializedBytes()
            let failHeader = try RequestHeader(method: "/caravan.echo.v1.Echo/Fail").serializedBytes()
            try await connection.sendFrame(
                kind: .request, flags: [.endStream, .hasMessage], callID: 2, header: failHeader, payload: fail)
            let notFound = try await connection.nextFrame()
            #expect(Hex.string(notFound.bytes) == GoldenVector.named("response-not-found").hex)

            // CANCEL of call 3 and END_OF_STREAM of call 4: no such calls, so both are ignored.
            try await connection.send(try Hex.bytes(GoldenVector.named("cancel").hex))
            try await connection.send(try Hex.bytes(GoldenVector.named("end-of-stream").hex))

            // Call 5: a bidi call opened without a message, then the documented MESSAGE.
            let bidiHeader = try RequestHeader(method: "/caravan.echo.v1.Echo/BidiStream").serializedBytes()
            try await connection.sendFrame(kind: .request, flags: [], callID: 5, header: bidiHeader)
            try await connection.send(try Hex.bytes(GoldenVector.named("message").hex))
            let echoed = try await connection.nextFrame()
            #expect(echoed.kind == .message && echoed.callID == 5 && echoed.flags == .hasMessage)
            #expect(try EchoResponse(serializedBytes: echoed.payload) == EchoResponse(text: "hi"))
            try await connection.sendFrame(kind: .endOfStream, callID: 5)
            let bidiEnd = try await connection.nextFrame()
            #expect(
                bidiEnd.kind == .response && bidiEnd.callID == 5 && bidiEnd.header.isEmpty && bidiEnd.payload.isEmpty)

            // Call 6: the request with a deadline, metadata and an idempotency key (call id patched to 6).
            var options = try Hex.bytes(GoldenVector.named("unary-request-options").hex)
            options[9] = 6
            try await connection.send(options)
            let optionsAnswer = try await connection.nextFrame()
            #expect(
                optionsAnswer.callID == 6 && optionsAnswer.header.isEmpty
                    && optionsAnswer.payload == [0x0A, 0x03, 1, 2, 3])

            // Call 7 sleeps. The PING after it gets the documented PONG, which also shows
            // that the server has read call 7 (it handles frames in order).
            let sleep = try SleepRequest(millis: 300).serializedBytes()
            let sleepHeader = try RequestHeader(method: "/caravan.echo.v1.Echo/Sleep").serializedBytes()
            try await connection.sendFrame(
                kind: .request, flags: [.endStream, .hasMessage], callID: 7, header: sleepHeader, payload: sleep)
            try await connection.send(try Hex.bytes(GoldenVector.named("ping").hex))
            let pong = try await connection.nextFrame()
            #expect(Hex.string(pong.bytes) == GoldenVector.named("pong").hex)

            // A graceful shutdown now sends the documented GOAWAY (last call id 7), lets call 7
            // finish, and closes.
            server.beginGracefulShutdown()
            let goAway = try await connection.nextFrame()
            #expect(Hex.string(goAway.bytes) == GoldenVector.named("goaway").hex)
            // A call opened after the GOAWAY is not processed: UNAVAILABLE, safe to retry.
            let lateHeader = try RequestHeader(method: "/caravan.echo.v1.Echo/Unary").serializedBytes()
            try await connection.sendFrame(
                kind: .request, flags: [.endStream, .hasMessage], callID: 8, header: lateHeader, payload: [])
            let rest = try await connection.framesUntilClose()
            #expect(rest.map(\.kind) == [.response, .response], "\(rest)")
            let late = try #require(rest.first { $0.callID == 8 })
            #expect(try ResponseHeader(serializedBytes: late.header).code == StatusCode.unavailable.rawValue)
            let inFlight = try #require(rest.first { $0.callID == 7 })
            #expect(inFlight.header.isEmpty && inFlight.flags == .hasMessage, "the call in flight finishes OK")
        }
    }
}

// MARK: - The vectors

/// One documented vector: its name in PROTOCOL.md, its bytes, and the
/// values it encodes.
struct GoldenVector: Sendable, CustomTestStringConvertible {
    enum Header: Sendable {
        case none
        case request(RequestHeader)
        case response(ResponseHeader)
        case goAway(GoAway)
    }

    enum Payload: Sendable {
        case none
        case raw([UInt8])
        case echoRequest(EchoRequest)
        case echoResponse(EchoResponse)
    }

    struct FrameValues: Sendable {
        var kind: FrameKind
        var flags: FrameFlags
        var callID: UInt32
        var header: Header
        var payload: Payload
    }

    let name: String
    /// Lowercase hex without spaces, as in PROTOCOL.md once comments and
    /// whitespace are dropped.
    let hex: String
    /// nil for the preface, which is not a frame.
    let frame: FrameValues?

    var testDescription: String { self.name }

    /// Builds the vector's bytes from the values, with the code under test.
    func encode() throws -> [UInt8] {
        guard let frame = self.frame else { return WireFormat.preface }
        let header: [UInt8]
        switch frame.header {
        case .none: header = []
        case .request(let message): header = try message.serializedBytes()
        case .response(let message): header = try message.serializedBytes()
        case .goAway(let message): header = try message.serializedBytes()
        }
        let payload: [UInt8]
        switch frame.payload {
        case .none: payload = []
        case .raw(let bytes): payload = bytes
        case .echoRequest(let message): payload = try message.serializedBytes()
        case .echoResponse(let message): payload = try message.serializedBytes()
        }
        var buffer = ByteBuffer()
        buffer.writeFrame(kind: frame.kind, flags: frame.flags, callID: frame.callID, header: header, payload: payload)
        return Array(buffer.readableBytesView)
    }

    static let unaryHeader = RequestHeader(method: "/caravan.echo.v1.Echo/Unary")
    static let optionsHeader = RequestHeader(
        method: "/caravan.echo.v1.Echo/Unary",
        timeoutMicros: 1_500_000,
        metadata: [MetadataEntry(key: "x-request-id", value: Array("r-42".utf8))],
        idempotencyKey: "order-7f3a"
    )

    /// In the order PROTOCOL.md lists them.
    static let all: [GoldenVector] = [
        GoldenVector(name: "preface", hex: "4352564e0d0a0001", frame: nil),
        GoldenVector(
            name: "unary-request",
            hex: "0000002c0103000000010000001d0a1b2f6361726176616e2e6563686f2e76312e4563686f2f556e6172790a03010203",
            frame: FrameValues(
                kind: .request, flags: [.endStream, .hasMessage], callID: 1,
                header: .request(unaryHeader), payload: .echoRequest(EchoRequest(payload: [1, 2, 3])))),
        GoldenVector(
            name: "unary-request-options",
            hex: "00000052010300000002000000430a1b2f6361726176616e2e6563686f2e76312e4563686f2f556e61727910e0c65b1a14"
                + "0a0c782d726571756573742d69641204722d3432220a6f726465722d376633610a03010203",
            frame: FrameValues(
                kind: .request, flags: [.endStream, .hasMessage], callID: 2,
                header: .request(optionsHeader), payload: .echoRequest(EchoRequest(payload: [1, 2, 3])))),
        GoldenVector(
            name: "response-ok",
            hex: "0000000f030200000001000000000a03010203",
            frame: FrameValues(
                kind: .response, flags: .hasMessage, callID: 1,
                header: .response(ResponseHeader()), payload: .echoResponse(EchoResponse(payload: [1, 2, 3])))),
        GoldenVector(
            name: "response-not-found",
            hex: "0000001a030000000002000000100805120c6e6f207375636820666c6f77",
            frame: FrameValues(
                kind: .response, flags: [], callID: 2,
                header: .response(ResponseHeader(code: 5, message: "no such flow")), payload: .none)),
        GoldenVector(
            name: "message",
            hex: "0000000e02020000000500000000" + "12026869",
            frame: FrameValues(
                kind: .message, flags: .hasMessage, callID: 5, header: .none,
                payload: .echoRequest(EchoRequest(text: "hi")))),
        GoldenVector(
            name: "end-of-stream",
            hex: "0000000a04000000000400000000",
            frame: FrameValues(kind: .endOfStream, flags: [], callID: 4, header: .none, payload: .none)),
        GoldenVector(
            name: "cancel",
            hex: "0000000a05000000000300000000",
            frame: FrameValues(kind: .cancel, flags: [], callID: 3, header: .none, payload: .none)),
        GoldenVector(
            name: "ping",
            hex: "00000012060000000000000000000102030405060708",
            frame: FrameValues(
                kind: .ping, flags: [], callID: 0, header: .none, payload: .raw([1, 2, 3, 4, 5, 6, 7, 8]))),
        GoldenVector(
            name: "pong",
            hex: "00000012070000000000000000000102030405060708",
            frame: FrameValues(
                kind: .pong, flags: [], callID: 0, header: .none, payload: .raw([1, 2, 3, 4, 5, 6, 7, 8]))),
        GoldenVector(
            name: "goaway",
            hex: "000000280800000000070000001e121c54686520736572766572206973207368757474696e6720646f776e2e",
            frame: FrameValues(
                kind: .goAway, flags: [], callID: 7,
                header: .goAway(GoAway(code: 0, message: "The server is shutting down.")), payload: .none)),
    ]

    static var frames: [GoldenVector] { self.all.filter { $0.frame != nil } }

    static func named(_ name: String) -> GoldenVector {
        guard let vector = self.all.first(where: { $0.name == name }) else { fatalError("no vector \(name)") }
        return vector
    }
}

// MARK: - Reading PROTOCOL.md

/// The ```hex name=… blocks of docs/PROTOCOL.md.
enum DocumentedVectors {
    struct Entry: Equatable {
        var name: String
        var hex: String
    }

    static var documentURL: URL {
        URL(fileURLWithPath: #filePath)  // Tests/CaravanTCPTests/GoldenVectorTests.swift
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("docs/PROTOCOL.md")
    }

    static func load() throws -> [Entry] {
        try self.parse(String(contentsOf: self.documentURL, encoding: .utf8))
    }

    /// In a block, `#` starts a comment and whitespace is insignificant.
    static func parse(_ markdown: String) throws -> [Entry] {
        var entries: [Entry] = []
        var current: Entry?
        for line in markdown.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if var entry = current {
                if trimmed == "```" {
                    entries.append(entry)
                    current = nil
                    continue
                }
                let code = trimmed.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
                let digits = code.filter { !$0.isWhitespace }
                guard digits.allSatisfy(\.isHexDigit) else {
                    throw DocumentError("block \(entry.name): not hex: \(line)")
                }
                entry.hex += digits.lowercased()
                current = entry
            } else if trimmed.hasPrefix("```hex") {
                guard let name = trimmed.split(separator: " ").first(where: { $0.hasPrefix("name=") })?.dropFirst(5),
                    !name.isEmpty
                else {
                    throw DocumentError("a hex block without a name: \(line)")
                }
                current = Entry(name: String(name), hex: "")
            }
        }
        if let current { throw DocumentError("block \(current.name) is not closed") }
        return entries
    }

    struct DocumentError: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }
}

// MARK: - Hex

/// Hex text to bytes and back.
enum Hex {
    struct NotHex: Error {}

    static func string(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef")
        var text = ""
        text.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return text
    }

    static func bytes(_ text: String) throws -> [UInt8] {
        let digits = Array(text.utf8)
        guard digits.count % 2 == 0 else { throw NotHex() }
        func value(_ digit: UInt8) throws -> UInt8 {
            switch digit {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return digit - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return digit - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return digit - UInt8(ascii: "A") + 10
            default: throw NotHex()
            }
        }
        return try stride(from: 0, to: digits.count, by: 2).map { try value(digits[$0]) << 4 | value(digits[$0 + 1]) }
    }
}
