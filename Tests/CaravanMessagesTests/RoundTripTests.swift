import CCaravanProto
import CProtobufC
import CaravanEchoAPI
import CaravanMessages
import CaravanTestingAPI
import Testing

/// Encode then decode gives back the same value, for every field kind.
@Suite struct RoundTripTests {
    /// Every field of KitchenSink set at once.
    static let everything: KitchenSink = {
        var message = ReferenceCases.kitchenScalars
        let enums = ReferenceCases.kitchenMessagesAndEnums
        message.color = enums.color
        message.mood = enums.mood
        message.inner = Inner(id: 42, label: "inner")
        message.nested = enums.nested
        let repeated = ReferenceCases.kitchenRepeated
        message.rInt32 = repeated.rInt32
        message.rInt64 = repeated.rInt64
        message.rUint64 = repeated.rUint64
        message.rSint32 = repeated.rSint32
        message.rFixed64 = repeated.rFixed64
        message.rDouble = repeated.rDouble
        message.rFloat = repeated.rFloat
        message.rBool = repeated.rBool
        message.rColor = repeated.rColor
        message.rString = repeated.rString
        message.rBytes = repeated.rBytes
        message.rInner = repeated.rInner
        message.oInt32 = 0
        message.oString = ""
        message.oBool = false
        message.oColor = .green
        message.oBytes = [9]
        message.oUint64 = .max
        message.choice = .choiceInner(Inner(id: 1))
        let maps = ReferenceCases.kitchenMaps
        message.counts = maps.counts
        message.inners = maps.inners
        message.flags = maps.flags
        message.blobs = maps.blobs
        return message
    }()

    @Test(arguments: ReferenceCases.all.map(\.name))
    func referenceCaseRoundTrips(name: String) throws {
        let testCase = try #require(ReferenceCases.all.first { $0.name == name })
        #expect(try roundTrips(testCase.message))
    }

    @Test func everyFieldAtOnce() throws {
        #expect(try roundTrips(Self.everything))
        let bytes = try Self.everything.serializedBytes()
        #expect(bytes.count > 400)
    }

    @Test func defaultsEncodeToNothing() throws {
        #expect(try KitchenSink().serializedBytes() == [])
        #expect(try EchoRequest(payload: [], text: "").serializedBytes() == [])
        #expect(try KitchenSink(serializedBytes: []) == KitchenSink())
    }

    @Test func presenceSurvivesForOptionalAndOneofZeros() throws {
        let decoded = try KitchenSink(
            serializedBytes: KitchenSink(oInt32: 0, oString: "", oBool: false).serializedBytes())
        #expect(decoded.oInt32 == 0)
        #expect(decoded.oString == "")
        #expect(decoded.oBool == false)
        #expect(decoded.oColor == nil)
        #expect(decoded.oBytes == nil)
        #expect(decoded.oUint64 == nil)

        for choice in [KitchenSink.Choice.choiceText(""), .choiceNumber(0), .choiceInner(Inner())] {
            let message = KitchenSink(choice: choice)
            #expect(try KitchenSink(serializedBytes: message.serializedBytes()).choice == choice)
        }
        #expect(try KitchenSink(serializedBytes: KitchenSink().serializedBytes()).choice == nil)
    }

    @Test func negativeZeroKeepsItsSign() throws {
        // protobuf-c alone would drop a -0.0 (it compares with 0); the
        // generated code writes it, as Google's encoders do.
        let message = KitchenSink(fDouble: -0.0, fFloat: -0.0, rFloat: [-0.0], oInt32: 0)
        let decoded = try KitchenSink(serializedBytes: message.serializedBytes())
        #expect(decoded.fDouble.sign == .minus && decoded.fDouble == 0)
        #expect(decoded.fFloat.sign == .minus)
        #expect(decoded.rFloat.first?.sign == .minus)
        #expect(try KitchenSink(fDouble: 0.0).serializedBytes() == [])
    }

    @Test func unknownEnumValuesRoundTrip() throws {
        let message = KitchenSink(
            color: Color(rawValue: 1234), mood: KitchenSink.Mood(rawValue: -99),
            nested: KitchenSink.Nested(colors: [Color(rawValue: 5), .red]),
            rColor: [Color(rawValue: .max), Color(rawValue: .min)],
            oColor: Color(rawValue: 17),
            inners: [1: Inner()])
        let decoded = try KitchenSink(serializedBytes: message.serializedBytes())
        #expect(decoded == message)
        #expect(decoded.color.rawValue == 1234)
        #expect(decoded.color.protoName == nil)
        #expect(decoded.color.description == "1234")
        #expect(decoded.rColor.map(\.rawValue) == [.max, .min])
    }

    @Test func mapEdgeCases() throws {
        // Zero values and empty keys are real entries, and survive.
        let message = KitchenSink(
            counts: ["": 0, "a": 0], inners: [0: Inner()], flags: [false: ""], blobs: [0: []])
        #expect(try roundTrips(message))
        // A repeated key on the wire: the last entry wins.
        let first = try KitchenSink(counts: ["k": 1]).serializedBytes()
        let second = try KitchenSink(counts: ["k": 2]).serializedBytes()
        #expect(try KitchenSink(serializedBytes: first + second).counts == ["k": 2])
    }

    @Test func mapsEncodeInKeyOrder() throws {
        // Dictionary order varies from run to run; the encoding must not.
        let keys = (0..<200).map { "key-\($0)" }
        var counts: [String: Int64] = [:]
        for (index, key) in keys.shuffled().enumerated() { counts[key] = Int64(index) }
        let expected = try KitchenSink(counts: counts).serializedBytes()
        var copy: [String: Int64] = [:]
        for key in keys.reversed() { copy[key] = counts[key] }
        #expect(try KitchenSink(counts: copy).serializedBytes() == expected)
    }

    @Test func largeMessagesSpillOutOfTheArenaBlocks() throws {
        // Bigger than both arenas' first blocks: a big bytes field, many
        // small strings and many sub-messages.
        let payload = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let message = KitchenSink(
            fBytes: payload,
            rInt64: (0..<10_000).map { Int64($0) * -7 },
            rString: (0..<3_000).map { "string number \($0)" },
            rInner: (0..<1_000).map { Inner(id: Int32($0), label: "label \($0)") },
            counts: Dictionary(uniqueKeysWithValues: (0..<500).map { ("k\($0)", Int64($0)) }))
        #expect(try roundTrips(message))
        #expect(try EchoRequest(serializedBytes: EchoRequest(payload: payload).serializedBytes()).payload == payload)
    }

    @Test func allDecodingEntryPointsAgree() throws {
        let message = Self.everything
        let bytes = try message.serializedBytes()
        let fromBuffer = try bytes.withUnsafeBytes { try KitchenSink(serializedBytes: $0) }
        #expect(fromBuffer == message)
        let packed = try message.withPacked { size, pack -> [UInt8] in
            [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
                pack(UnsafeMutableRawPointer(buffer.baseAddress!))
                count = size
            }
        }
        #expect(packed == bytes)
    }

    @Test func enumAPI() {
        #expect(Color.allCases == [.unspecified, .red, .green, .infrared])
        #expect(Color.red.protoName == "COLOR_RED")
        #expect(Color(protoName: "COLOR_GREEN") == .green)
        #expect(Color(protoName: "GREEN") == nil)
        #expect(Color.infrared.rawValue == -1)
        #expect(KitchenSink.Mood.default.protoName == "DEFAULT")
        #expect(Color.protoEnumName == "caravan.testing.v1.Color")
        #expect("\(Color.green)" == "COLOR_GREEN")
    }

    @Test func messageNamesAndDescriptors() {
        #expect(KitchenSink.protoMessageName == "caravan.testing.v1.KitchenSink")
        #expect(KitchenSink.Nested.protoMessageName == "caravan.testing.v1.KitchenSink.Nested")
        for type in CaravanTestingAPISchemas.messageTypes {
            let descriptor = type.protobufCDescriptor.pointee
            #expect(String(cString: descriptor.name) == type.protoMessageName)
        }
    }
}

func roundTrips<Message: ProtoMessage>(_ message: Message) throws -> Bool {
    let bytes = try message.serializedBytes()
    let decoded = try Message(serializedBytes: bytes)
    // Encoding is deterministic: the decoded value encodes to the same bytes.
    return try decoded == message && decoded.serializedBytes() == bytes
}
