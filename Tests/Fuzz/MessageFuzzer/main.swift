// A libFuzzer target for what a peer sends besides frames: messages.
//
// An input's first byte picks a message type (`FuzzedMessageTypes`: every
// request and response type of every service we serve, and the frame
// headers): its low 7 bits modulo the number of types. Its top bit picks
// the decoder for the rest of the input:
//
// - 0, protobuf: `init(serializedBytes:)`, which is libprotobuf-c's unpack
//   and the generated copy into Swift, as a server decodes a request and a
//   client a response. What decodes must re-encode, decode to an equal
//   message and encode to the same bytes; and it must survive the HTTP
//   door's JSON (what the door does with a backend's answer).
// - 1, JSON: the HTTP door's `JSONDecoder` over the generated `Codable`
//   conformance, as it reads a request body. What decodes must survive a
//   JSON round trip (to the same text), and unless a string holds a NUL,
//   which protobuf cannot carry and the door refuses, a protobuf one.
//
// Equality is `==`, or the same encoding for a message holding a NaN.
// `MessageFuzzer --write-seeds FOLDER DICTIONARY` writes the seeds and the
// libFuzzer dictionary (`SeedWriter`). See docs/PROTOCOL.md, "Fuzzing".

import CaravanCore
import Foundation
import FuzzSupport

/// The selector's bit that picks JSON over protobuf.
let jsonSelectorBit: UInt8 = 0x80

func checkProtobuf<Message: ProtoMessage>(_ type: Message.Type, _ payload: UnsafeRawBufferPointer) {
    guard let message = protobufRoundTrip(Message.self, payload) else { return }
    requireJSONRoundTrip(message)
}

func checkJSON<Message: ProtoMessage>(_ type: Message.Type, _ payload: UnsafeRawBufferPointer) {
    guard let message = try? ProtoJSON.decode(Message.self, from: Data(payload)) else { return }
    requireJSONRoundTrip(message)
    // The door sends the request on in protobuf; a NUL in a string is the
    // one thing that encoding refuses (and the door answers 400).
    guard let encoded = try? message.serializedBytes() else { return }
    requireProtobufRoundTrip(message, encoded: encoded)
}

/// The libFuzzer callback: one input.
func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: data, count: data == nil ? 0 : size)
    guard let selector = input.first else { return 0 }
    let type = FuzzedMessageTypes.type(selectedBy: selector)
    let payload = UnsafeRawBufferPointer(rebasing: input.dropFirst())
    if selector & jsonSelectorBit == 0 {
        checkProtobuf(type, payload)
    } else {
        checkJSON(type, payload)
    }
    return 0
}

#if FUZZING
    /// libFuzzer's usual entry point. `-sanitize=fuzzer` links libFuzzer's own
    /// `main`, which refers to it; SwiftPM points `main` at this file's top-level
    /// code instead, which starts libFuzzer below, so both paths reach `fuzzOne`.
    @_cdecl("LLVMFuzzerTestOneInput")
    public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
        fuzzOne(data, size)
    }
#endif

FuzzerMain.run(writingSeedsWith: { try SeedWriter.write(seedsTo: $0, dictionaryTo: $1) }) { data, size in
    fuzzOne(data, size)
}
