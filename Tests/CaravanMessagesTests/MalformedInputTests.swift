import CaravanEchoAPI
import CaravanEnvelope
import CaravanMessages
import CaravanTestSupport
import CaravanTestingAPI
import Testing

/// Bad input gives a thrown error, never a crash or a silently different
/// value.
@Suite struct MalformedInputTests {
    @Test func truncatedInputThrows() throws {
        // A length-delimited field whose length runs past the end.
        #expect(throws: ProtoDecodingError.self) { try EchoRequest(serializedBytes: [0x0A, 0x05, 0x61]) }
        // A tag with no value, a varint cut short, a fixed64 cut short.
        #expect(throws: ProtoDecodingError.self) { try StreamRequest(serializedBytes: [0x10]) }
        #expect(throws: ProtoDecodingError.self) { try StreamRequest(serializedBytes: [0x10, 0x80]) }
        #expect(throws: ProtoDecodingError.self) { try KitchenSink(serializedBytes: [0x51, 1, 2, 3]) }
        // Every prefix of a real message either decodes or throws.
        let bytes = try RoundTripTests.everything.serializedBytes()
        var thrown = 0
        for length in 0..<bytes.count {
            do {
                _ = try KitchenSink(serializedBytes: Array(bytes[..<length]))
            } catch {
                thrown += 1
            }
        }
        #expect(thrown > bytes.count / 2)
    }

    @Test func wrongWireTypeThrows() {
        // Field 1 (bytes) sent as a varint; field 2 (uint32) as length-delimited.
        #expect(throws: ProtoDecodingError.self) { try EchoRequest(serializedBytes: [0x08, 0x01]) }
        #expect(throws: ProtoDecodingError.self) { try StreamRequest(serializedBytes: [0x12, 0x01, 0x01]) }
        // Wire types 6 and 7 do not exist.
        #expect(throws: ProtoDecodingError.self) { try EchoRequest(serializedBytes: [0x0E, 0x00]) }
        #expect(throws: ProtoDecodingError.self) { try EchoRequest(serializedBytes: [0x0F, 0x00]) }
        // Field number 0 is invalid.
        #expect(throws: ProtoDecodingError.self) { try EchoRequest(serializedBytes: [0x00, 0x00]) }
    }

    @Test func overlongVarintThrows() {
        // Eleven bytes: longer than any 64-bit varint.
        let overlong: [UInt8] = [0x10] + Array(repeating: 0xFF, count: 10) + [0x01]
        #expect(throws: ProtoDecodingError.self) { try StreamRequest(serializedBytes: overlong) }
        // A length prefix far beyond the input.
        #expect(throws: ProtoDecodingError.self) {
            try EchoRequest(serializedBytes: [0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x00])
        }
    }

    @Test func errorsSayWhatWasExpected() throws {
        do {
            _ = try EchoRequest(serializedBytes: [0x0A, 0x05, 0x61])
            Issue.record("decoded a truncated message")
        } catch {
            #expect(error.code == .malformed)
            #expect(error.field == "caravan.echo.v1.EchoRequest")
            #expect(error.description.contains("3 bytes are not a valid caravan.echo.v1.EchoRequest"))
        }
    }

    /// A few thousand seeded random inputs: random bytes, and real messages
    /// with bytes flipped, cut or spliced.
    @Test func randomGarbageNeverCrashes() throws {
        var random = SplitMix64(seed: 0xCA7A_5A1E)
        let seeds =
            try ReferenceCases.all.map { try $0.message.serializedBytes() }
            + [try RoundTripTests.everything.serializedBytes()]
        var decoded = 0
        var rejected = 0
        for round in 0..<4_000 {
            var input: [UInt8]
            if round % 2 == 0 {
                input = (0..<Int(random.next() % 96)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            } else {
                input = seeds[Int(random.next() % UInt64(seeds.count))]
                for _ in 0..<(1 + random.next() % 4) where !input.isEmpty {
                    let index = Int(random.next() % UInt64(input.count))
                    switch random.next() % 3 {
                    case 0: input[index] = UInt8(truncatingIfNeeded: random.next())
                    case 1: input.removeSubrange(index...)
                    default: input.insert(UInt8(truncatingIfNeeded: random.next()), at: index)
                    }
                }
            }
            do {
                let message = try KitchenSink(serializedBytes: input)
                // Whatever decoded must encode again.
                _ = try message.serializedBytes()
                decoded += 1
            } catch {
                rejected += 1
            }
            _ = try? RequestHeader(serializedBytes: input)
            _ = try? EchoRequest(serializedBytes: input)
        }
        #expect(decoded + rejected == 4_000)
        #expect(rejected > 1_000)
    }

    @Test func nulInAStringIsRejectedOnEncode() {
        let cases: [(any ProtoMessage, String)] = [
            (EchoRequest(text: "a\u{0}b"), "caravan.echo.v1.EchoRequest.text"),
            (EchoRequest(text: "\u{0}"), "caravan.echo.v1.EchoRequest.text"),
            (KitchenSink(rString: ["ok", "bad\u{0}"]), "caravan.testing.v1.KitchenSink.r_string"),
            (KitchenSink(oString: "\u{0}"), "caravan.testing.v1.KitchenSink.o_string"),
            (KitchenSink(choice: .choiceText("x\u{0}")), "caravan.testing.v1.KitchenSink.choice_text"),
            (KitchenSink(counts: ["k\u{0}": 1]), "caravan.testing.v1.KitchenSink.counts"),
            (KitchenSink(rInner: [Inner(label: "\u{0}")]), "caravan.testing.v1.Inner.label"),
        ]
        for (message, field) in cases {
            do {
                _ = try message.serializedBytes()
                Issue.record("encoded a NUL in \(field)")
            } catch {
                #expect(error.code == .nulByteInString)
                #expect(error.field == field)
                #expect(error.description == "\(field) contains a NUL byte, which protobuf-c cannot carry")
            }
        }
        #expect(throws: ProtoEncodingError.self) { try EchoRequest(text: "a\u{0}").withPacked { size, _ in size } }
    }

    @Test func nulInAStringIsRejectedOnDecode() {
        // "a\0b" in EchoRequest.text: strlen would silently make it "a".
        do {
            _ = try EchoRequest(serializedBytes: [0x12, 0x03, 0x61, 0x00, 0x62])
            Issue.record("decoded a string with a NUL byte")
        } catch {
            #expect(error.code == .nulByteInString)
            #expect(error.field == "caravan.echo.v1.EchoRequest.text")
        }
        #expect(throws: ProtoDecodingError.self) { try EchoRequest(serializedBytes: [0x12, 0x01, 0x00]) }
        // In a repeated string and a map key.
        #expect(throws: ProtoDecodingError.self) { try KitchenSink(serializedBytes: [0xEA, 0x01, 0x02, 0x00, 0x61]) }
        #expect(throws: ProtoDecodingError.self) {
            try KitchenSink(serializedBytes: [0xCA, 0x02, 0x05, 0x0A, 0x03, 0x6B, 0x00, 0x6B])
        }
    }

    @Test func invalidUTF8IsRejectedOnDecode() throws {
        let invalid: [[UInt8]] = [
            [0xFF, 0xFE],  // never valid
            [0xC0, 0x80],  // overlong NUL
            [0xED, 0xA0, 0x80],  // a UTF-16 surrogate
            [0xE2, 0x9C],  // cut short
            [0x61, 0x80],  // a stray continuation byte
        ]
        for bytes in invalid {
            do {
                _ = try EchoRequest(serializedBytes: [0x12, UInt8(bytes.count)] + bytes)
                Issue.record("decoded invalid UTF-8 \(bytes)")
            } catch {
                #expect(error.code == .invalidUTF8)
                #expect(error.description == "caravan.echo.v1.EchoRequest.text is not valid UTF-8")
            }
        }
        // Bytes fields carry anything.
        #expect(try EchoRequest(serializedBytes: [0x0A, 0x02, 0xFF, 0xFE]).payload == [0xFF, 0xFE])
    }
}
