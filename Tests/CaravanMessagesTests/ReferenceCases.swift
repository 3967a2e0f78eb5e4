import CaravanEchoAPI
import CaravanEnvelope
import CaravanHealthAPI
import CaravanMessages
import CaravanReflectionAPI
import CaravanTestingAPI

/// The messages of `Tests/Python/reference_cases.json`, built natively.
///
/// Each case's JSON there and its value here describe the same message:
/// the tests check that Google's encoding of the JSON equals ours of the
/// value, and that our JSON decoding of the JSON equals the value.
enum ReferenceCases {
    struct Case: Sendable {
        var name: String
        var message: any ProtoMessage
    }

    static let all: [Case] = [
        Case(name: "echo_empty", message: EchoRequest()),
        Case(
            name: "echo_payload",
            message: EchoRequest(payload: Array(0..<64), text: "h\u{e9}llo, \u{2713} \u{1F42B}")),
        Case(name: "stream_request", message: StreamRequest(payload: [0xFF], count: .max, intervalMillis: 250)),
        Case(name: "health_serving", message: HealthCheckResponse(status: .serving)),
        Case(
            name: "request_header",
            message: RequestHeader(
                method: "/caravan.echo.v1.Echo/Unary",
                timeoutMicros: .max,
                metadata: [
                    MetadataEntry(key: "x-user", value: Array("alice".utf8)),
                    MetadataEntry(key: "empty-bin", value: []),
                    MetadataEntry(key: "", value: [0]),
                ],
                idempotencyKey: "k-1",
                traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")),
        Case(
            name: "file_descriptors",
            message: FileDescriptorsResponse(fileDescriptorProtos: [Array("\n\u{5}a.proto".utf8), [], [0, 0xFF]])),
        Case(name: "kitchen_scalars", message: kitchenScalars),
        Case(name: "kitchen_messages_and_enums", message: kitchenMessagesAndEnums),
        Case(
            name: "kitchen_unknown_enum",
            message: KitchenSink(
                color: Color(rawValue: 77), mood: KitchenSink.Mood(rawValue: -3),
                rColor: [.red, Color(rawValue: 77), .infrared])),
        Case(name: "kitchen_repeated", message: kitchenRepeated),
        Case(
            name: "kitchen_optional_zeros",
            message: KitchenSink(oInt32: 0, oString: "", oBool: false, oColor: .unspecified, oBytes: [], oUint64: 0)),
        Case(
            name: "kitchen_optional_values",
            message: KitchenSink(
                oInt32: -7, oString: "opt", oBool: true, oColor: .red, oBytes: [1], oUint64: 12_345_678_901)),
        Case(name: "kitchen_oneof_empty_text", message: KitchenSink(choice: .choiceText(""))),
        Case(name: "kitchen_oneof_text", message: KitchenSink(choice: .choiceText("chosen"))),
        Case(name: "kitchen_oneof_zero_number", message: KitchenSink(choice: .choiceNumber(0))),
        Case(name: "kitchen_oneof_number", message: KitchenSink(choice: .choiceNumber(-5))),
        Case(name: "kitchen_oneof_empty_inner", message: KitchenSink(choice: .choiceInner(Inner()))),
        Case(name: "kitchen_oneof_inner", message: KitchenSink(choice: .choiceInner(Inner(id: 3, label: "three")))),
        Case(name: "kitchen_maps", message: kitchenMaps),
        // protobuf-c alone drops a -0.0 float/double; Google's encoders write it.
        Case(
            name: "kitchen_negative_zero", message: KitchenSink(fDouble: -0.0, fFloat: -0.0, rDouble: [-0.0], oInt32: 0)
        ),
        Case(name: "kitchen_empty", message: KitchenSink()),
        Case(name: "empty_message", message: Empty()),
    ]

    static let kitchenScalars = KitchenSink(
        fDouble: 1.5e300,
        fFloat: 0.1,
        fInt32: .min,
        fInt64: .min,
        fUint32: .max,
        fUint64: .max,
        fSint32: -1,
        fSint64: -4_611_686_018_427_387_904,
        fFixed32: 0x1234_5678,
        fFixed64: 0x1234_5678_9ABC_DEF0,
        fSfixed32: -0x1234_5678,
        fSfixed64: -0x1234_5678_9ABC_DEF0,
        fBool: true,
        fString: "Horgos \u{970d}\u{5c14}\u{679c}\u{65af}",
        fBytes: [0, 1, 2, 0xFD, 0xFE, 0xFF],
        class: "c",
        default: 7,
        renamedField: "renamed")

    static let kitchenMessagesAndEnums = KitchenSink(
        color: .infrared,
        mood: .default,
        inner: Inner(),
        nested: KitchenSink.Nested(note: "n", colors: [.red, .unspecified, .infrared, Color(rawValue: 9)]))

    static let kitchenRepeated = KitchenSink(
        rInt32: [0, 1, -1, .max, .min],
        rInt64: [0, -1, .max],
        rUint64: [0, .max, 300],
        rSint32: [0, -1, 1, -64, 64],
        rFixed64: [1, 0],
        rDouble: [0, -2.5, 1e-300],
        rFloat: [1, -0.5],
        rBool: [true, false, true],
        rColor: [.green, .infrared],
        rString: ["", "a", "\u{fc}\u{f1}\u{ee}"],
        rBytes: [[], [0], [1, 2, 3]],
        rInner: [Inner(), Inner(id: 1, label: "one"), Inner(id: -2)])

    static let kitchenMaps = KitchenSink(
        counts: ["zeta": 26, "alpha": 1, "": 0, "mid": -3, "\u{e9}": 5],
        inners: [10: Inner(id: 10), -1: Inner(), 2: Inner(label: "two"), 0: Inner()],
        flags: [true: "yes", false: ""],
        blobs: [.max: [0xFF], 0: [], 7: [7, 7, 7]])
}
