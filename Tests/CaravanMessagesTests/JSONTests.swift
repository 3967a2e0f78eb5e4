import CaravanEchoAPI
import CaravanHealthAPI
import CaravanMessages
import CaravanTestSupport
import CaravanTestingAPI
import Foundation
import Testing

/// The proto3 JSON mapping of the generated Codable conformances.
@Suite struct JSONTests {
    @Test func scalarsUseProto3Encodings() throws {
        try expectJSON(
            ReferenceCases.kitchenScalars,
            """
            {"fDouble": 1.5e300, "fFloat": 0.1, "fInt32": -2147483648, "fInt64": "-9223372036854775808",
             "fUint32": 4294967295, "fUint64": "18446744073709551615", "fSint32": -1,
             "fSint64": "-4611686018427387904", "fFixed32": 305419896, "fFixed64": "1311768467463790320",
             "fSfixed32": -305419896, "fSfixed64": "-1311768467463790320", "fBool": true,
             "fString": "Horgos 霍尔果斯", "fBytes": "AAEC/f7/", "class": "c", "default": 7,
             "customName": "renamed"}
            """)
    }

    @Test func defaultsAreOmitted() throws {
        try expectJSON(KitchenSink(), "{}")
        try expectJSON(EchoRequest(payload: [], text: ""), "{}")
        try expectJSON(KitchenSink(fInt32: 0, color: .unspecified, inner: Inner()), #"{"inner": {}}"#)
    }

    @Test func enumsBySchemaNameAndUnknownOnesByNumber() throws {
        try expectJSON(HealthCheckResponse(status: .notServing), #"{"status": "NOT_SERVING"}"#)
        try expectJSON(
            KitchenSink(color: Color(rawValue: 77), mood: .default, rColor: [.red, Color(rawValue: -5)]),
            #"{"color": 77, "mood": "DEFAULT", "rColor": ["COLOR_RED", -5]}"#)
    }

    @Test func repeatedOptionalOneofAndMaps() throws {
        try expectJSON(
            KitchenSink(
                rInt64: [1, -2], rDouble: [0.5], rBytes: [[0xFF], []], rInner: [Inner(id: 1)],
                oInt32: 0, oString: "", choice: .choiceNumber(0),
                counts: ["b": 2, "a": 1], inners: [-1: Inner(label: "x")], flags: [true: "t"], blobs: [9: [1]]),
            """
            {"rInt64": ["1", "-2"], "rDouble": [0.5], "rBytes": ["/w==", ""], "rInner": [{"id": 1}],
             "oInt32": 0, "oString": "", "choiceNumber": "0",
             "counts": {"a": "1", "b": "2"}, "inners": {"-1": {"label": "x"}}, "flags": {"true": "t"},
             "blobs": {"9": "AQ=="}}
            """)
        try expectJSON(KitchenSink(choice: .choiceText("")), #"{"choiceText": ""}"#)
        try expectJSON(KitchenSink(choice: .choiceInner(Inner())), #"{"choiceInner": {}}"#)
    }

    @Test func nonFiniteFloatsAreStrings() throws {
        try expectJSON(
            KitchenSink(fDouble: .infinity, fFloat: -.infinity), #"{"fDouble": "Infinity", "fFloat": "-Infinity"}"#)
        let nan = try JSONDecoder().decode(
            KitchenSink.self, from: Data(#"{"fDouble": "NaN", "rFloat": ["NaN", 1]}"#.utf8))
        #expect(nan.fDouble.isNaN)
        #expect(nan.rFloat.count == 2 && nan.rFloat[0].isNaN && nan.rFloat[1] == 1)
        try expectJSON(KitchenSink(fDouble: .nan), #"{"fDouble": "NaN"}"#)
        // -0.0 as a string: a JSON `-0` reads as 0 in many parsers.
        try expectJSON(KitchenSink(fDouble: -0.0, rFloat: [-0.0, 0]), #"{"fDouble": "-0", "rFloat": ["-0", 0]}"#)
        let negativeZero = try decode(KitchenSink.self, #"{"fDouble": "-0", "fFloat": -0.0}"#)
        #expect(negativeZero.fDouble.sign == .minus && negativeZero.fFloat.sign == .minus)
    }

    @Test func everythingRoundTripsThroughJSON() throws {
        let json = try JSONEncoder().encode(RoundTripTests.everything)
        #expect(try JSONDecoder().decode(KitchenSink.self, from: json) == RoundTripTests.everything)
        for testCase in ReferenceCases.all {
            let data = try JSONEncoder().encode(testCase.message)
            #expect(try decodesJSON(data, to: testCase.message), "\(testCase.name)")
        }
    }

    @Test func decodingIsLenient() throws {
        let decoded = try decode(
            KitchenSink.self,
            """
            {"f_int64": 12, "fUint64": 7, "fInt32": "-3", "fUint32": "4", "fFloat": "1.5",
             "color": 2, "mood": "CURIOUS", "oColor": "5", "fBytes": "-_8", "rBytes": ["AQ", "AQI="],
             "fString": null, "inner": null, "rInt32": null, "unknownField": {"deep": [1, 2]},
             "choice_text": "via proto name", "customName": "json", "counts": {"x": 5}}
            """)
        var expected = KitchenSink(
            fFloat: 1.5, fInt32: -3, fInt64: 12, fUint32: 4, fUint64: 7, fBytes: [0xFB, 0xFF],
            color: .green, mood: .curious, rBytes: [[1], [1, 2]], oColor: Color(rawValue: 5),
            choice: .choiceText("via proto name"), counts: ["x": 5])
        expected.renamedField = "json"
        #expect(decoded == expected)
        #expect(try decode(KitchenSink.self, #"{"renamed_field": "proto name"}"#).renamedField == "proto name")
        #expect(try decode(EchoRequest.self, "{}") == EchoRequest())
    }

    @Test func invalidJSONIsRejected() {
        for json in [
            #"{"choiceText": "a", "choiceNumber": "1"}"#,  // two members of one oneof
            #"{"color": "COLOR_PURPLE"}"#,  // unknown enum name
            #"{"fBytes": "not base64!"}"#,
            #"{"fInt64": "12x"}"#,
            #"{"fInt32": 3000000000}"#,  // out of range
            #"{"inners": {"one": {}}}"#,  // map key not an int32
            #"{"flags": {"yes": "t"}}"#,
            #"{"rInt32": [1, null]}"#,
            #"{"fBool": "true"}"#,
        ] {
            #expect(throws: (any Error).self, "\(json)") { try decode(KitchenSink.self, json) }
        }
    }

    @Test func base64MatchesTheStandardAlphabetAndPadding() throws {
        for length in 0..<40 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            let json = try JSONEncoder().encode(EchoRequest(payload: bytes))
            let object = try JSONSerialization.jsonObject(with: json) as? [String: String]
            #expect(object?["payload"] ?? "" == Data(bytes).base64EncodedString())
            #expect(try JSONDecoder().decode(EchoRequest.self, from: json).payload == bytes)
        }
    }
}

/// Checks that `message` encodes to JSON equal to `expected` (key order
/// and whitespace aside).
func expectJSON<Message: ProtoMessage>(
    _ message: Message, _ expected: String, sourceLocation: SourceLocation = #_sourceLocation
) throws {
    let actual = try JSONEncoder().encode(message)
    #expect(try canonicalJSON(actual) == canonicalJSON(Data(expected.utf8)), sourceLocation: sourceLocation)
}

func decode<Message: ProtoMessage>(_ type: Message.Type, _ json: String) throws -> Message {
    try JSONDecoder().decode(Message.self, from: Data(json.utf8))
}
