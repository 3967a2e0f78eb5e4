import CaravanTCP
import CaravanTestSupport
import NIOCore
import Testing

/// Pure tests of ``FrameDecoder``: no channel, no sockets.
@Suite("Frame decoder")
struct FrameDecoderTests {
    // MARK: Splitting a byte stream

    @Test("Frames fed one byte at a time come out whole and in order")
    func byteByByte() throws {
        let frames = [
            SampleFrame(
                kind: .request, flags: [.endStream, .hasMessage], callID: 1, header: Array("head".utf8),
                payload: [1, 2, 3]),
            SampleFrame(kind: .cancel, flags: [], callID: 2, header: [], payload: []),
            SampleFrame(
                kind: .message, flags: .hasMessage, callID: 3, header: [], payload: Array(repeating: 0xAB, count: 300)),
            SampleFrame(kind: .ping, flags: [], callID: 0, header: [], payload: [0, 0, 0, 0, 0, 0, 0, 1]),
            SampleFrame(kind: .response, flags: [], callID: 1, header: [8, 5], payload: []),
        ]
        let bytes = frames.flatMap(\.encoded)
        var decoder = FrameDecoder(maxFrameSize: 1024)
        var buffer = ByteBuffer()
        var decoded: [SampleFrame] = []
        for (offset, byte) in bytes.enumerated() {
            buffer.writeInteger(byte)
            while let inbound = try decoder.decode(buffer: &buffer) {
                guard case .frame(let frame) = inbound else {
                    Issue.record("unexpected \(inbound) at byte \(offset)")
                    return
                }
                decoded.append(SampleFrame(frame))
                #expect(
                    offset + 1 == frames.prefix(decoded.count).reduce(0) { $0 + $1.encoded.count },
                    "a frame is produced exactly when its last byte arrives")
            }
        }
        #expect(decoded == frames)
        #expect(buffer.readableBytes == 0)
        #expect(!decoder.isMidFrame)
    }

    @Test("Many frames in one buffer are all decoded, then the decoder asks for more")
    func manyFramesInOneBuffer() throws {
        var buffer = ByteBuffer()
        for id in 1...2_000 {
            buffer.writeFrame(
                kind: .message, flags: .hasMessage, callID: UInt32(id), header: [],
                payload: [UInt8(id & 0xFF), UInt8(id >> 8)])
        }
        // A partial frame at the end stays buffered.
        buffer.writeBytes([0, 0, 0, 20, 1])
        var decoder = FrameDecoder(maxFrameSize: 64)
        var ids: [UInt32] = []
        while let inbound = try decoder.decode(buffer: &buffer) {
            guard case .frame(let frame) = inbound else {
                Issue.record("unexpected \(inbound)")
                return
            }
            #expect(Array(frame.payload.readableBytesView) == [UInt8(frame.callID & 0xFF), UInt8(frame.callID >> 8)])
            ids.append(frame.callID)
        }
        #expect(ids == (1...2_000).map { UInt32($0) })
        #expect(buffer.readableBytes == 5, "the partial frame's bytes are left for the next read")
        #expect(!decoder.isMidFrame, "a partial prefix is not yet a started frame")
    }

    @Test("Every field of the prefix is read big-endian, and the header and payload are split at the header length")
    func fieldsAndByteOrder() throws {
        var buffer = ByteBuffer(bytes: [
            0x00, 0x00, 0x00, 0x0F,  // length 15 = 10 + 2 + 3
            0x02,  // MESSAGE
            0x03,  // END_STREAM | HAS_MESSAGE
            0x01, 0x02, 0x03, 0x04,  // call id 0x01020304
            0x00, 0x00, 0x00, 0x02,  // header length 2
            0xAA, 0xBB,  // header
            0xCC, 0xDD, 0xEE,  // payload
        ])
        var decoder = FrameDecoder(maxFrameSize: 1024)
        let inbound = try decoder.decode(buffer: &buffer)
        let frame = try #require(inbound?.frame)
        #expect(frame.kind == .message)
        #expect(frame.flags == [.endStream, .hasMessage])
        #expect(frame.callID == 0x0102_0304)
        #expect(Array(frame.header.readableBytesView) == [0xAA, 0xBB])
        #expect(Array(frame.payload.readableBytesView) == [0xCC, 0xDD, 0xEE])
    }

    @Test("The smallest frame (length 10: no header, no payload) and an all-header frame decode")
    func boundaryLengths() throws {
        var decoder = FrameDecoder(maxFrameSize: 1024)
        var empty = ByteBuffer(bytes: [0, 0, 0, 10, 0x05, 0, 0, 0, 0, 9, 0, 0, 0, 0])
        let first = try decoder.decode(buffer: &empty)
        let cancel = try #require(first?.frame)
        #expect(cancel.kind == .cancel && cancel.callID == 9)
        #expect(cancel.header.readableBytes == 0 && cancel.payload.readableBytes == 0)

        var allHeader = ByteBuffer(bytes: [0, 0, 0, 12, 0x08, 0, 0, 0, 0, 7, 0, 0, 0, 2, 0x08, 0x0D])
        let second = try decoder.decode(buffer: &allHeader)
        let goAway = try #require(second?.frame)
        #expect(Array(goAway.header.readableBytesView) == [0x08, 0x0D])
        #expect(goAway.payload.readableBytes == 0)
    }

    // MARK: Oversized frames

    @Test("A frame of exactly the limit is accepted; one byte more is skipped and reported")
    func limitBoundary() throws {
        let limit = 100
        var decoder = FrameDecoder(maxFrameSize: limit)
        var buffer = ByteBuffer()
        buffer.writeFrame(
            kind: .request, flags: .hasMessage, callID: 1, header: [], payload: Array(repeating: 1, count: limit - 10))
        buffer.writeFrame(
            kind: .request, flags: .hasMessage, callID: 2, header: [], payload: Array(repeating: 2, count: limit - 9))
        buffer.writeFrame(kind: .cancel, callID: 3)

        let firstEvent = try decoder.decode(buffer: &buffer)
        let first = try #require(firstEvent?.frame)
        #expect(first.callID == 1 && first.payload.readableBytes == limit - 10)
        let secondEvent = try decoder.decode(buffer: &buffer)
        let second = try #require(secondEvent)
        guard case .oversized(let kind, let flags, let callID, let length) = second else {
            Issue.record("expected an oversized report, got \(second)")
            return
        }
        #expect(kind == .request && flags == .hasMessage && callID == 2 && length == UInt32(limit + 1))
        let thirdEvent = try decoder.decode(buffer: &buffer)
        let third = try #require(thirdEvent?.frame)
        #expect(third.kind == .cancel && third.callID == 3, "the frame after a skipped one decodes normally")
        #expect(buffer.readableBytes == 0)
    }

    @Test("An oversized frame arriving in pieces is skipped as it streams past, never buffered")
    func oversizedSkippedInPieces() throws {
        var decoder = FrameDecoder(maxFrameSize: 64)
        var frame = ByteBuffer()
        frame.writeFrame(
            kind: .message, flags: .hasMessage, callID: 5, header: [], payload: Array(repeating: 7, count: 10_000))
        frame.writeFrame(kind: .endOfStream, callID: 5)
        var bytes = Array(frame.readableBytesView)
        var buffer = ByteBuffer()
        var events: [String] = []
        while !bytes.isEmpty {
            let chunk = bytes.prefix(333)
            bytes.removeFirst(chunk.count)
            buffer.writeBytes(chunk)
            while let inbound = try decoder.decode(buffer: &buffer) {
                switch inbound {
                case .oversized(let kind, _, let callID, let length):
                    events.append("oversized \(kind) \(callID) \(length)")
                case .frame(let frame): events.append("frame \(frame.kind) \(frame.callID)")
                }
            }
            // Skipped bytes are consumed at once; at most a partial prefix waits.
            #expect(buffer.readableBytes < WireFormat.prefixSize)
        }
        #expect(events == ["oversized MESSAGE 5 10010", "frame END_OF_STREAM 5"])
        #expect(!decoder.isMidFrame)
    }

    @Test("A length prefix of 0xFFFFFFFF is reported at once and its bytes skipped without buffering")
    func maximalLengthPrefix() throws {
        var decoder = FrameDecoder(maxFrameSize: 4 * 1024 * 1024)
        var buffer = ByteBuffer(bytes: [0xFF, 0xFF, 0xFF, 0xFF, 0x01, 0x03, 0, 0, 0, 1, 0, 0, 0, 0])
        let event = try decoder.decode(buffer: &buffer)
        let inbound = try #require(event)
        guard case .oversized(let kind, _, let callID, let length) = inbound else {
            Issue.record("expected an oversized report, got \(inbound)")
            return
        }
        #expect(kind == .request && callID == 1 && length == 0xFFFF_FFFF)
        let chunk = [UInt8](repeating: 0x5A, count: 64 * 1024)
        for _ in 0..<128 {  // 8 MiB
            buffer.writeBytes(chunk)
            let next = try decoder.decode(buffer: &buffer)
            #expect(next == nil)
            #expect(buffer.readableBytes == 0, "skipped bytes are never kept")
            #expect(decoder.isMidFrame)
        }
    }

    // MARK: Protocol errors

    @Test("A length shorter than the fixed fields is a protocol error", arguments: 0..<10)
    func lengthTooShort(length: Int) {
        var decoder = FrameDecoder(maxFrameSize: 1024)
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt32(length))
        buffer.writeBytes([0x01, 0x00, 0, 0, 0, 1, 0, 0, 0, 0])
        buffer.writeBytes([UInt8](repeating: 0, count: 32))
        #expect(throws: FrameProtocolError.self) { _ = try decoder.decode(buffer: &buffer) }
    }

    @Test("A header length larger than the frame's body is a protocol error")
    func headerLongerThanBody() {
        // length 15 leaves 5 bytes of body; the header claims 6.
        var decoder = FrameDecoder(maxFrameSize: 1024)
        var buffer = ByteBuffer(bytes: [0, 0, 0, 15, 0x01, 0x03, 0, 0, 0, 1, 0, 0, 0, 6, 1, 2, 3, 4, 5])
        #expect(throws: FrameProtocolError.self) { _ = try decoder.decode(buffer: &buffer) }

        // Checked before the size limit: an oversized frame with a bad header length is an error too.
        var small = FrameDecoder(maxFrameSize: 16)
        var oversized = ByteBuffer(bytes: [0xFF, 0xFF, 0xFF, 0xFF, 0x01, 0x03, 0, 0, 0, 1, 0xFF, 0xFF, 0xFF, 0xFF])
        #expect(throws: FrameProtocolError.self) { _ = try small.decode(buffer: &oversized) }
    }

    @Test("Unknown kinds and flags are passed up, not judged, by the decoder")
    func unknownKindPassedUp() throws {
        var decoder = FrameDecoder(maxFrameSize: 1024)
        var buffer = ByteBuffer()
        buffer.writeFrame(kind: FrameKind(rawValue: 0x09), flags: FrameFlags(rawValue: 0xF0), callID: 1)
        let inbound = try decoder.decode(buffer: &buffer)
        let frame = try #require(inbound?.frame)
        #expect(frame.kind.rawValue == 0x09 && !frame.kind.isKnown)
        #expect(frame.kind.description == "UNKNOWN(0x9)")
        #expect(frame.flags.rawValue == 0xF0)
    }

    // MARK: Random input

    @Test("Random well-formed frames round-trip through writeFrame and the decoder")
    func randomRoundTrip() throws {
        var random = SplitMix64(seed: 0xC0FFEE)
        var expected: [SampleFrame] = []
        var buffer = ByteBuffer()
        for _ in 0..<2_000 {
            let frame = SampleFrame(
                kind: FrameKind(rawValue: UInt8.random(in: 1...8, using: &random)),
                flags: FrameFlags(rawValue: UInt8.random(in: 0...3, using: &random)),
                callID: UInt32.random(in: 0...UInt32.max, using: &random),
                header: random.bytes(count: Int.random(in: 0...40, using: &random)),
                payload: random.bytes(count: Int.random(in: 0...200, using: &random))
            )
            expected.append(frame)
            buffer.writeBytes(frame.encoded)
        }
        var decoder = FrameDecoder(maxFrameSize: 10 + 40 + 200)
        var decoded: [SampleFrame] = []
        while let inbound = try decoder.decode(buffer: &buffer) {
            decoded.append(SampleFrame(try #require(inbound.frame)))
        }
        #expect(decoded == expected)
    }

    /// 20,000 seeded random inputs, half pure noise and half frame-shaped
    /// (a plausible prefix followed by noise), each fed in random chunks.
    /// The decoder must never crash or loop, must consume only what it was
    /// given, must keep at most one frame's bytes, and must produce the same
    /// events however the input is split.
    @Test("The decoder survives 20,000 seeded random inputs, and chunking never changes what it decodes")
    func randomInputs() throws {
        var random = SplitMix64(seed: 20_240_601)
        let maxFrameSize = 512
        for round in 0..<20_000 {
            let input = Self.randomInput(&random, frameShaped: round % 2 == 1, maxFrameSize: maxFrameSize)
            let whole = Self.decodeAll(input, chunkSizes: [input.count + 1], maxFrameSize: maxFrameSize)
            let chunks = (0..<8).map { _ in Int.random(in: 1...64, using: &random) }
            let split = Self.decodeAll(input, chunkSizes: chunks, maxFrameSize: maxFrameSize)
            #expect(whole == split, "round \(round): input \(input.prefix(32)) decoded differently when split")
            if whole != split { return }
        }
    }

    // MARK: Helpers

    static func randomInput(_ random: inout SplitMix64, frameShaped: Bool, maxFrameSize: Int) -> [UInt8] {
        var bytes: [UInt8] = []
        if frameShaped {
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                let bodyLength: UInt32
                switch Int.random(in: 0..<6, using: &random) {
                case 0: bodyLength = UInt32.random(in: 0..<10, using: &random)  // too short
                case 1: bodyLength = UInt32.random(in: 0...UInt32.max, using: &random)  // anything
                case 2: bodyLength = UInt32(maxFrameSize) + UInt32.random(in: 1...100, using: &random)  // oversized
                default: bodyLength = UInt32.random(in: 10...UInt32(maxFrameSize), using: &random)
                }
                let headerLength =
                    Bool.random(using: &random)
                    ? UInt32.random(in: 0...UInt32.max, using: &random)
                    : UInt32.random(in: 0...max(0, bodyLength &- 10), using: &random)
                var prefix = ByteBuffer()
                prefix.writeInteger(bodyLength)
                prefix.writeInteger(UInt8.random(in: 0...9, using: &random))
                prefix.writeInteger(UInt8.random(in: 0...255, using: &random))
                prefix.writeInteger(UInt32.random(in: 0...5, using: &random))
                prefix.writeInteger(headerLength)
                bytes += prefix.readableBytesView
                bytes += random.bytes(count: Int.random(in: 0...Int(min(bodyLength, 600)), using: &random))
            }
        } else {
            bytes = random.bytes(count: Int.random(in: 0...300, using: &random))
        }
        return bytes
    }

    /// Feeds `input` in chunks (cycling through `chunkSizes`), decoding after
    /// each; returns the events, ending with how decoding stopped.
    static func decodeAll(_ input: [UInt8], chunkSizes: [Int], maxFrameSize: Int) -> [String] {
        var decoder = FrameDecoder(maxFrameSize: maxFrameSize)
        var buffer = ByteBuffer()
        var events: [String] = []
        var offset = 0
        var chunk = 0
        var fedAll = false
        while !fedAll {
            let size = chunkSizes[chunk % chunkSizes.count]
            chunk += 1
            let end = min(input.count, offset + size)
            buffer.writeBytes(input[offset..<end])
            offset = end
            fedAll = offset == input.count
            var decodedThisChunk = 0
            do {
                while let inbound = try decoder.decode(buffer: &buffer) {
                    decodedThisChunk += 1
                    if decodedThisChunk > input.count + 1 {
                        Issue.record("the decoder produced more events than there are bytes: it loops")
                        return events + ["loop"]
                    }
                    switch inbound {
                    case .frame(let frame):
                        if frame.header.readableBytes + frame.payload.readableBytes > maxFrameSize - 10 {
                            Issue.record("a frame larger than the limit was delivered")
                        }
                        events.append(
                            "frame \(frame.kind.rawValue) \(frame.flags.rawValue) \(frame.callID) "
                                + "\(Array(frame.header.readableBytesView)) \(Array(frame.payload.readableBytesView))")
                    case .oversized(let kind, let flags, let callID, let length):
                        if Int(length) <= maxFrameSize {
                            Issue.record("a frame within the limit was reported oversized")
                        }
                        events.append("oversized \(kind.rawValue) \(flags.rawValue) \(callID) \(length)")
                    }
                }
            } catch let error as FrameProtocolError {
                return events + ["error \(error.message)"]
            } catch {
                Issue.record("unexpected error type \(error)")
                return events + ["unexpected"]
            }
            if buffer.readableBytes > maxFrameSize + WireFormat.prefixSize {
                Issue.record("the decoder kept \(buffer.readableBytes) bytes, more than one frame")
            }
        }
        return events + ["waiting \(buffer.readableBytes) \(decoder.isMidFrame)"]
    }
}

/// A frame as plain values, for comparisons.
struct SampleFrame: Equatable, Sendable, CustomStringConvertible {
    var kind: FrameKind
    var flags: FrameFlags
    var callID: UInt32
    var header: [UInt8]
    var payload: [UInt8]

    init(kind: FrameKind, flags: FrameFlags, callID: UInt32, header: [UInt8], payload: [UInt8]) {
        self.kind = kind
        self.flags = flags
        self.callID = callID
        self.header = header
        self.payload = payload
    }

    init(_ frame: Frame) {
        self.init(
            kind: frame.kind, flags: frame.flags, callID: frame.callID,
            header: Array(frame.header.readableBytesView), payload: Array(frame.payload.readableBytesView))
    }

    var encoded: [UInt8] {
        var buffer = ByteBuffer()
        buffer.writeFrame(
            kind: self.kind, flags: self.flags, callID: self.callID, header: self.header, payload: self.payload)
        return Array(buffer.readableBytesView)
    }

    var description: String {
        "\(self.kind) flags=\(self.flags.rawValue) call=\(self.callID) "
            + "header=\(self.header.count)B payload=\(self.payload.count)B"
    }
}

extension InboundFrame {
    /// The frame, when this is not an oversized report.
    var frame: Frame? {
        if case .frame(let frame) = self { return frame }
        return nil
    }
}
