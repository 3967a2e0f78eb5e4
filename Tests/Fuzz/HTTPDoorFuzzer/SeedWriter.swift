import CProtobufC
import CaravanAuth
import CaravanCore
import Foundation

/// Writes HTTPDoorFuzzer's seeds and its libFuzzer dictionary
/// (`HTTPDoorFuzzer --write-seeds FOLDER DICTIONARY`; .ci/fuzz.sh runs it
/// before each run): the examples of docs/HTTP.md, tokens signed with the
/// fuzzer's key by `TokenSigner` (as `caravan token` makes them), the W3C's
/// own `traceparent` examples, and per request type a query setting every
/// field, derived from its descriptor so that the seeds follow the
/// `.proto` files.
enum SeedWriter {
    static func write(seedsTo folder: URL, dictionaryTo dictionary: URL) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var seeds: [(String, Part, [UInt8])] = []
        func add(_ name: String, _ part: Part, _ text: String) { seeds.append((name, part, Array(text.utf8))) }
        var tokens: Set<String> = [
            "Bearer ", "bearer ", "HS256", "none", "\"alg\":", "\"typ\":", "\"sub\":", "\"scope\":", "\"exp\":",
            "\"nbf\":", "\"iat\":", CaravanScope.read, CaravanScope.write, "text/event-stream", "application/json",
            ";q=0.9", "ms", "us", "µs", "ns", "00-", "-01", "ff-", "x-caravan-timeout: ", "idempotency-key: ",
            "traceparent: ", "tracestate: ", "authorization: ", "accept: ", "%2E", "%26", "%3D", "=", "&",
        ]

        for (index, type) in Door.requestTypes.enumerated() {
            var names: [(String, String)] = []
            Self.sampleParameters(type.protobufCDescriptor, prefix: "", depth: 0, into: &names)
            tokens.formUnion(names.map { "\($0.0)=" })
            let query = names.map { "\($0)=\($1)" }.joined(separator: "&")
            seeds.append(("query-\(type.protoMessageName)", .query, [UInt8(index)] + Array(query.utf8)))
        }
        for (type, query) in [
            ("caravan.trade.v1.StreamFlowsRequest", "filter.country=KZ&filter.direction=DIRECTION_EXPORT"),
            ("caravan.trade.v1.StreamFlowsRequest", "filter.direction=2&filter.yearFrom=2020"),
            ("caravan.trade.v1.WatchFlowsRequest", "country=KZ"),
            ("caravan.logistics.v1.WatchShipmentRequest", "id=s-1&afterSequence=3"),
            ("caravan.training.v1.WatchEnrolmentsRequest", "programId=prog-3"),
        ] {
            guard let index = Door.requestTypes.firstIndex(where: { $0.protoMessageName == type }) else { continue }
            seeds.append(("query-example-\(seeds.count)", .query, [UInt8(index)] + Array(query.utf8)))
        }

        let now = Int64(Door.now.timeIntervalSince1970)
        let claims = [
            TokenClaims(sub: "reader", scope: CaravanScope.read, exp: now + 3600),
            TokenClaims(sub: "writer", scope: "caravan.read caravan.write", exp: now + 3600, iat: now - 10),
            TokenClaims(sub: "late", scope: CaravanScope.read, exp: now + 3600, nbf: now + 60),
            TokenClaims(sub: "expired", scope: CaravanScope.write, exp: now - 1),
        ]
        for (index, claim) in claims.enumerated() {
            let token = Door.signer.sign(claim)
            add("authorization-\(index)", .authorization, "Bearer " + token)
            add("header-block-\(index)", .headerBlock, Self.headerBlock(authorization: "Bearer " + token))
            let encoder = JSONEncoder()
            encoder.outputFormatting = .sortedKeys
            let payload = try encoder.encode(claim)
            seeds.append(("signed-\(index)", .signedToken, [UInt8(index * 2)] + Array(payload)))
        }
        add("authorization-basic", .authorization, "Basic YWxhZGRpbjpvcGVuc2VzYW1l")
        add("authorization-empty", .authorization, "Bearer ")
        let claim = #"{"exp":1800003600,"scope":"caravan.read","sub":"s"}"#
        for (index, header) in [
            #"{"alg":"none","typ":"JWT"}"#, #"{"alg":"hs256"}"#, #"{"typ":"JWT"}"#, #"{"alg":"HS256","alg":"none"}"#,
        ].enumerated() {
            seeds.append(("signed-header-\(index)", .signedToken, [0] + Array(header.utf8) + [0] + Array(claim.utf8)))
        }
        for (index, payload) in [
            #"{"exp":"1800003600","scope":"caravan.read","sub":"s"}"#, #"{"exp":1.8e9,"scope":"a b","sub":"s"}"#,
            #"{"scope":"caravan.read","sub":"s"}"#, #"{"exp":9223372036854775807,"scope":"","sub":""}"#,
        ].enumerated() {
            seeds.append(("signed-payload-\(index)", .signedToken, [4] + Array(payload.utf8)))
        }

        for (index, text) in ["500ms", "2s", "1m", "1.5s", "100us", "250µs", "1h", "0", "10ns", "1e3ms", "-1s", "nan"]
            .enumerated()
        {
            add("timeout-\(index)", .timeout, text)
        }
        for (index, text) in [
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\0congo=t61rcWkgMzE,rojo=00f067aa0ba902b7",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00",
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-holds",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        ].enumerated() {
            add("trace-\(index)", .trace, text)
        }
        for (index, text) in [
            "text/event-stream", "text/html, text/event-stream;q=0.9", "application/json", "TEXT/Event-Stream ; x=y",
            "*/*",
        ].enumerated() {
            add("accept-\(index)", .accept, text)
        }
        for (index, text) in ["k-1\0k-1", "k-1", "\0k-2", "a\0b", String(repeating: "k", count: 257)].enumerated() {
            add("idempotency-\(index)", .idempotency, text)
        }
        for (index, text) in [
            "/v1/caravan.trade.v1.TradeService/WatchFlows?country=KZ", "/v1/countries/KZ/profile?year=2024",
            "/caravan.health.v1.Health/Check", "/caravan.trade.v1.TradeService/RecordFlow", "127.0.0.1:53012",
            "::1:53012", "/v1/overview?year=-1",
        ].enumerated() {
            add("path-\(index)", .path, text)
        }

        for (name, part, bytes) in seeds {
            let safe = String(name.map { $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" ? $0 : "_" })
            try Data([part.rawValue] + bytes).write(to: folder.appendingPathComponent("\(part)-\(safe)"))
        }
        let lines = tokens.sorted().map { "\"\(Self.escaped($0))\"" }
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: dictionary)
        print("Wrote \(seeds.count) seeds and \(tokens.count) tokens.")
    }

    static func headerBlock(authorization: String) -> String {
        [
            "authorization: \(authorization)", "x-caravan-timeout: 2s", "idempotency-key: k-1",
            "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "tracestate: congo=t61rcWkgMzE",
            "accept: text/event-stream",
        ].joined(separator: "\n")
    }

    /// A value for every field of the message, nested messages' fields
    /// dotted two levels down, repeated fields twice; maps left out (their
    /// entries are keys, not field names).
    private static func sampleParameters(
        _ descriptor: UnsafePointer<ProtobufCMessageDescriptor>, prefix: String, depth: Int,
        into parameters: inout [(String, String)]
    ) {
        let fields = UnsafeBufferPointer(start: descriptor.pointee.fields, count: Int(descriptor.pointee.n_fields))
        for field in fields {
            let name = prefix + Self.jsonName(String(cString: field.name))
            let values: [String]
            switch field.type.rawValue {
            case 16:  // message
                let nested = field.descriptor!.assumingMemoryBound(to: ProtobufCMessageDescriptor.self)
                guard depth < 2, !String(cString: nested.pointee.name).hasSuffix("Entry"),
                    field.label.rawValue != 2
                else { continue }
                Self.sampleParameters(nested, prefix: name + ".", depth: depth + 1, into: &parameters)
                continue
            case 13:  // enum
                let values0 = field.descriptor!.assumingMemoryBound(to: ProtobufCEnumDescriptor.self).pointee
                let all = UnsafeBufferPointer(start: values0.values, count: Int(values0.n_values))
                values = [String(cString: all[all.count > 1 ? 1 : 0].name)]
            case 12: values = ["true"]  // bool
            case 10, 11: values = ["1.5"]  // float, double
            case 14: values = ["KZ"]  // string
            case 15: values = ["AQI="]  // bytes
            default: values = ["3"]  // integers
            }
            let repeated = field.label.rawValue == 2
            for value in repeated ? values + values : values { parameters.append((name, value)) }
        }
    }

    /// protoc's JSON name (`interval_millis` → `intervalMillis`).
    static func jsonName(_ protoName: String) -> String {
        var result = ""
        var capitalizeNext = false
        for character in protoName {
            if character == "_" {
                capitalizeNext = true
            } else {
                result += capitalizeNext ? character.uppercased() : String(character)
                capitalizeNext = false
            }
        }
        return result
    }

    private static func escaped(_ token: String) -> String {
        var out = ""
        for byte in token.utf8 {
            switch byte {
            case UInt8(ascii: "\\"): out += "\\\\"
            case UInt8(ascii: "\""): out += "\\\""
            case 0x20..<0x7F: out.unicodeScalars.append(UnicodeScalar(byte))
            default: out += String(format: "\\x%02X", byte)
            }
        }
        return out
    }
}
