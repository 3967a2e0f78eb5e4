// A libFuzzer target for the Caravan wire format.
//
// Feeds arbitrary bytes to FrameDecoder, twice: all at once, and in chunks
// whose sizes come from the input. Both runs must report the same events,
// every delivered frame must respect the size limit, every decode step must
// consume bytes, and a protocol error must end the stream. Each decoded
// frame's header is tried as RequestHeader, ResponseHeader and GoAway, its
// payload as caravan.echo.v1.EchoRequest; whatever decodes must re-encode,
// decode to the same value and encode to the same bytes
// (`protobufRoundTrip`); a request header is then read as the server
// reads it (`FrameHeaders`: metadata, timeout; its trace). MessageFuzzer
// covers every other message type.
//
// Built with `-DFUZZING -sanitize=fuzzer,address` by .ci/fuzz.sh, `main`
// hands control to libFuzzer. Built plainly, it replays the files (or
// folders of files) named on the command line (`FuzzerMain`), so the
// target also builds and runs without the sanitizers.

import CaravanCore
import CaravanEchoAPI
import CaravanEnvelope
import CaravanTCP
import FuzzSupport
import NIOCore

/// Small, so that oversized frames are common in fuzzed input.
let maxFrameSize = 512

/// One thing the decoder reported, as plain values to compare.
enum Event: Equatable {
    case frame(kind: UInt8, flags: UInt8, callID: UInt32, header: [UInt8], payload: [UInt8])
    case oversized(kind: UInt8, flags: UInt8, callID: UInt32, length: UInt32)
    case protocolError
}

/// Decodes `input` fed in chunks of the given sizes (cycled), checking the
/// decoder's invariants after each step.
func decodeEvents(_ input: UnsafeRawBufferPointer, chunkSizes: [Int]) -> [Event] {
    var decoder = FrameDecoder(maxFrameSize: maxFrameSize)
    var buffer = ByteBuffer()
    var events: [Event] = []
    var offset = 0
    var chunk = 0
    repeat {
        let size = chunkSizes[chunk % chunkSizes.count]
        chunk += 1
        let end = min(input.count, offset + size)
        buffer.writeBytes(UnsafeRawBufferPointer(rebasing: input[offset..<end]))
        offset = end
        while true {
            let before = buffer.readableBytes
            let inbound: InboundFrame?
            do {
                inbound = try decoder.decode(buffer: &buffer)
            } catch is FrameProtocolError {
                return events + [.protocolError]
            } catch {
                fatalError("FrameDecoder threw something other than FrameProtocolError: \(error)")
            }
            guard let inbound else { break }
            precondition(buffer.readableBytes < before, "a decode step that reports something consumes bytes")
            switch inbound {
            case .frame(let frame):
                let size = frame.header.readableBytes + frame.payload.readableBytes
                precondition(size + WireFormat.fixedFieldsSize <= maxFrameSize, "a frame over the limit was delivered")
                events.append(
                    .frame(
                        kind: frame.kind.rawValue, flags: frame.flags.rawValue, callID: frame.callID,
                        header: Array(frame.header.readableBytesView), payload: Array(frame.payload.readableBytesView)))
                exercise(frame)
            case .oversized(let kind, let flags, let callID, let length):
                precondition(Int(length) > maxFrameSize, "a frame within the limit was reported oversized")
                events.append(.oversized(kind: kind.rawValue, flags: flags.rawValue, callID: callID, length: length))
            }
        }
        precondition(
            buffer.readableBytes <= maxFrameSize + WireFormat.prefixSize, "the decoder buffers more than a frame")
    } while offset < input.count
    return events
}

/// Decodes what a peer's header and payload could be; whatever decodes
/// must survive a round trip unchanged.
func exercise(_ frame: Frame) {
    frame.header.withUnsafeReadableBytes { header in
        if let request = protobufRoundTrip(RequestHeader.self, header) {
            exercise(request)
        }
        if let response = protobufRoundTrip(ResponseHeader.self, header) {
            _ = StatusCode(rawValue: response.code)
        }
        _ = protobufRoundTrip(GoAway.self, header)
    }
    frame.payload.withUnsafeReadableBytes { payload in
        _ = protobufRoundTrip(EchoRequest.self, payload)
    }
}

/// What the server reads from a request header (`IncomingRequest`): its
/// metadata, each entry kept as sent (binary for `-bin` keys, else text),
/// its timeout and its trace, whose child span is always well-formed.
func exercise(_ request: RequestHeader) {
    let metadata = FrameHeaders.metadata(request.metadata)
    precondition(metadata.count == request.metadata.count, "metadata entries were lost or added")
    for (element, entry) in zip(metadata, request.metadata) {
        precondition(element.key == entry.key, "a metadata key changed: \(entry.key) → \(element.key)")
        switch element.value {
        case .binary(let bytes):
            precondition(entry.key.hasSuffix("-bin") && bytes == entry.value, "a binary value changed")
        case .string(let text):
            precondition(!entry.key.hasSuffix("-bin") && text == String(decoding: entry.value, as: UTF8.self))
        }
        _ = Metadata.isValidKey(element.key)
    }
    _ = metadata.encodedSize
    _ = metadata.redactedDescription
    _ = MethodDescriptor(path: request.method)
    let timeout = FrameHeaders.timeout(fromMicros: request.timeoutMicros)
    precondition((timeout == nil) == (request.timeoutMicros == 0), "a timeout of 0 means none, and only 0")
    precondition(timeout.map { $0 > .zero } ?? true, "a timeout is not positive")
    if !request.traceparent.isEmpty {
        let trace = TraceContext(traceparent: request.traceparent, tracestate: request.tracestate)
        precondition(TraceContext.span(childOf: trace).isWellFormed, "a child span is malformed")
    }
}

/// The libFuzzer callback: one input.
func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: data, count: data == nil ? 0 : size)
    let whole = decodeEvents(input, chunkSizes: [max(1, input.count)])
    // Chunk sizes 1...16 taken from the first bytes, so the fuzzer explores splits too.
    let chunkSizes = input.prefix(4).map { Int($0 & 0x0F) + 1 }
    let split = decodeEvents(input, chunkSizes: chunkSizes.isEmpty ? [1] : chunkSizes)
    precondition(whole == split, "the decoder's events depend on how the input is split")
    return 0
}

#if FUZZING
    /// libFuzzer's usual entry point. `-sanitize=fuzzer` links libFuzzer's own
    /// `main`, which refers to it; SwiftPM points `main` at this file's top-level
    /// code instead, which starts libFuzzer (`FuzzerMain`), so both paths reach
    /// `fuzzOne`.
    @_cdecl("LLVMFuzzerTestOneInput")
    public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
        fuzzOne(data, size)
    }
#endif

FuzzerMain.run { data, size in fuzzOne(data, size) }
