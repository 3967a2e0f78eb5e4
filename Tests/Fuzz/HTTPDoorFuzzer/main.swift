// A libFuzzer target for the rest of what an HTTP client controls at the
// gateway's HTTP/JSON door, besides JSON bodies (MessageFuzzer): the query
// of a GET turned into a request message, the headers, the bearer token.
//
// An input's first byte picks the part (`Part`, modulo their number); the
// rest is that part's text. Each part calls the door's own parser and
// checks what it answers against what the parser promises (`Checks`):
//
// - query: `QueryParameterDecoder` over Hummingbird's query parsing, for
//   the request type the second byte picks;
// - authorization / signedToken: `GatewayAuthInterceptor.claims(from:)`,
//   over `TokenSigner.verify`, with the header as sent, and with a header
//   and payload from the input signed with the gateway's key, so the
//   fuzzer gets past the signature to the JSON;
// - timeout: `parseDuration` (`X-Caravan-Timeout`);
// - trace: `TraceContext` (`traceparent`, `tracestate`), a child span and
//   the context the door makes for a call;
// - accept: `HTTPStreamFraming(accept:)`;
// - headerBlock: `name: value` lines as header fields, through
//   `GatewayHTTPServer.headers(_:peer:)` and `HTTPGatewayCaller.serverContext`;
// - idempotency: a body's key and the `Idempotency-Key` header (`IdempotentWrite`);
// - path: `MethodDescriptor(path:)` of `/v1/{service}/{method}`,
//   `MethodAccess`, `CallerIdentity.peerHost`, `?year=`.
//
// `HTTPDoorFuzzer --write-seeds FOLDER DICTIONARY` writes the seeds and the
// libFuzzer dictionary (`SeedWriter`). See docs/PROTOCOL.md, "Fuzzing".

import Foundation
import FuzzSupport

/// What an input's first byte picks.
enum Part: UInt8, CaseIterable {
    case query, authorization, signedToken, timeout, trace, accept, headerBlock, idempotency, path

    init(selector: UInt8) { self = Part.allCases[Int(selector) % Part.allCases.count] }
}

/// The libFuzzer callback: one input.
func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: data, count: data == nil ? 0 : size)
    guard let selector = input.first else { return 0 }
    let rest = Array(input.dropFirst())
    switch Part(selector: selector) {
    case .query: Checks.query(rest)
    case .authorization: Checks.authorization(rest)
    case .signedToken: Checks.signedToken(rest)
    case .timeout: Checks.timeout(rest)
    case .trace: Checks.trace(rest)
    case .accept: Checks.accept(rest)
    case .headerBlock: Checks.headerBlock(rest)
    case .idempotency: Checks.idempotency(rest)
    case .path: Checks.path(rest)
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
