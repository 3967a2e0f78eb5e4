// caravan-proto-leakcheck: encodes and decodes messages in a loop, error
// paths included, so that .ci/leak-check.sh can run it under valgrind and
// fail on any block the C side (protobuf-c, the arenas) loses.
//
// Usage: caravan-proto-leakcheck [iterations]   (default 200)

import CaravanEchoAPI
import CaravanMessages
import CaravanTestingAPI

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

let iterations = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 200 : 200

/// Counts failed checks (a leak check that also stops checking values
/// would prove little).
nonisolated(unsafe) var failures = 0
// Safe: the program is single-threaded; only top-level code and the
// functions it calls touch `failures`.

func check(_ condition: Bool, _ what: @autoclosure () -> String) {
    if !condition {
        failures += 1
        print("leakcheck: FAILED: \(what())")
    }
}

func roundTrip<Message: ProtoMessage>(_ message: Message, _ name: String) {
    do {
        let bytes = try message.serializedBytes()
        let decoded = try Message(serializedBytes: bytes)
        check(decoded == message, "\(name) round trip")
        let packedSize = try message.withPacked { size, pack -> Int in
            var buffer = [UInt8](repeating: 0, count: size)
            buffer.withUnsafeMutableBytes { pack($0.baseAddress!) }
            check(buffer == bytes, "\(name) withPacked")
            return size
        }
        check(packedSize == bytes.count, "\(name) packed size")
    } catch {
        check(false, "\(name): \(error)")
    }
}

let inner = Inner(id: 7, label: "seven")
let big = KitchenSink(
    fBytes: (0..<100_000).map { UInt8(truncatingIfNeeded: $0) },
    rString: (0..<500).map { "string \($0)" },
    rInner: (0..<200).map { Inner(id: Int32($0), label: "label \($0)") })
let everything = KitchenSink(
    fDouble: 1.5, fFloat: -2.5, fInt32: -1, fInt64: .min, fUint32: .max, fUint64: .max, fSint32: -3, fSint64: -4,
    fFixed32: 5, fFixed64: 6, fSfixed32: -7, fSfixed64: -8, fBool: true, fString: "h\u{e9}llo", fBytes: [0, 1, 2],
    color: .infrared, mood: .default, inner: inner,
    nested: KitchenSink.Nested(note: "n", colors: [.red, Color(rawValue: 99)]),
    rInt32: [1, -1], rInt64: [2, -2], rUint64: [3], rSint32: [-4], rFixed64: [5], rDouble: [6.5], rFloat: [7.5],
    rBool: [true, false], rColor: [.green], rString: ["", "a"], rBytes: [[], [1]], rInner: [inner, Inner()],
    oInt32: 0, oString: "", oBool: false, oColor: .red, oBytes: [], oUint64: 9,
    choice: .choiceInner(inner),
    counts: ["a": 1, "": 0], inners: [1: inner, 2: Inner()], flags: [true: "t", false: ""], blobs: [1: [1], 0: []],
    class: "c", default: 3, renamedField: "r")

for _ in 0..<iterations {
    roundTrip(EchoRequest(payload: Array(repeating: 0xAB, count: 64), text: "echo"), "EchoRequest")
    roundTrip(EchoResponse(), "EchoResponse")
    roundTrip(StreamRequest(payload: [1], count: 3, intervalMillis: 10), "StreamRequest")
    roundTrip(everything, "KitchenSink")
    roundTrip(KitchenSink(choice: .choiceText("")), "KitchenSink oneof")
    roundTrip(big, "KitchenSink big")

    // Encoding errors part-way through a tree.
    do {
        _ = try KitchenSink(rInner: [inner, Inner(label: "bad\u{0}")], counts: ["k": 1]).serializedBytes()
        check(false, "NUL accepted")
    } catch {}

    // Decoding errors: protobuf-c gives up part-way, after allocating.
    let valid = try! everything.serializedBytes()
    for cut in stride(from: 1, to: valid.count, by: 37) {
        _ = try? KitchenSink(serializedBytes: Array(valid[..<cut]))
    }
    _ = try? EchoRequest(serializedBytes: [0x12, 0x02, 0xFF, 0xFE])  // invalid UTF-8
    _ = try? EchoRequest(serializedBytes: [0x12, 0x03, 0x61, 0x00, 0x62])  // NUL in a string
    _ = try? KitchenSink(serializedBytes: [0xFA, 0x01, 0x04, 0x12, 0x02, 0xC0, 0x80])  // bad UTF-8 in a sub-message
    _ = try? KitchenSink(serializedBytes: [0x10] + Array(repeating: 0xFF, count: 11))  // overlong varint
    // Unknown fields: protobuf-c keeps them (allocated), we drop them.
    check((try? Empty(serializedBytes: valid)) != nil, "unknown fields")
}

if failures > 0 {
    print("leakcheck: \(failures) failures")
    exit(1)
}
print("leakcheck: \(iterations) iterations OK")
