import CaravanAuth
import CaravanCore
import CaravanDomain
import CaravanGateway
import CaravanGatewayHTTP
import CaravanServiceKit
import CaravanTradeAPI
import Foundation
import FuzzSupport
import HTTPTypes
import HummingbirdCore

// The trade service declares this conformance; the fuzzer links the
// service's messages, not the service.
extension RecordFlowRequest: @retroactive IdempotentRequest {}

/// One check per part (see `main.swift`). A violated invariant traps.
enum Checks {
    /// The text of `bytes` as the door would see it: headers and queries
    /// reach it as Swift strings, invalid UTF-8 already replaced.
    static func text(_ bytes: some Collection<UInt8>) -> String { String(decoding: bytes, as: UTF8.self) }

    /// The input cut at its first NUL (a separator no header value carries).
    static func split(_ bytes: [UInt8]) -> (String, String?) {
        guard let nul = bytes.firstIndex(of: 0) else { return (Self.text(bytes), nil) }
        return (Self.text(bytes[..<nul]), Self.text(bytes[(nul + 1)...]))
    }

    // MARK: Query

    /// `GET /v1/{service}/{method}?…`: the query read as the route reads
    /// it. Whatever decodes must survive the protobuf and JSON round trips
    /// (what the door then does with it), and the message's own JSON,
    /// written back as a query, must read back to the same message.
    static func query(_ bytes: [UInt8]) {
        guard let selector = bytes.first else { return }
        Self.query(Door.requestType(selectedBy: selector), Self.text(bytes.dropFirst()))
    }

    static func query<Message: ProtoMessage>(_ type: Message.Type, _ text: String) {
        let uri = URI("/v1/caravan.trade.v1.TradeService/WatchFlows?" + text)
        let parameters = uri.queryParameters.map { (String($0.key), String($0.value)) }
        guard let message = Self.decodeQuery(Message.self, parameters) else { return }
        requireJSONRoundTrip(message)
        // A NUL in a string is the one thing protobuf refuses (and the door answers 400).
        if let encoded = try? message.serializedBytes() { requireProtobufRoundTrip(message, encoded: encoded) }
        Self.requireQueryRoundTrip(message)
    }

    /// The message, nil when refused; a refusal is a `QueryParameterError`,
    /// which names the parameter for the client, and nothing else.
    static func decodeQuery<Message: ProtoMessage>(_: Message.Type, _ parameters: [(String, String)]) -> Message? {
        do {
            return try QueryParameterDecoder.decode(Message.self, from: parameters)
        } catch is QueryParameterError {
            return nil
        } catch {
            fatalError("QueryParameterDecoder threw \(type(of: error)), not a QueryParameterError: \(error)")
        }
    }

    /// Writes `message`'s JSON as query parameters, percent-encoded into a
    /// URI as a client would, and requires the query to read back to a
    /// message with the same JSON (NaN-safe equality).
    static func requireQueryRoundTrip<Message: ProtoMessage>(_ message: Message) {
        guard let json = try? ProtoJSON.encode(message),
            let parameters = QueryFlattening.parameters(fromJSON: Array(json))
        else { return }
        let query = parameters.map { QueryFlattening.percentEncoded($0) + "=" + QueryFlattening.percentEncoded($1) }
        let uri = URI("/v1/x?" + query.joined(separator: "&"))
        let parsed = uri.queryParameters.map { (String($0.key), String($0.value)) }
        let jsonText = String(decoding: json, as: UTF8.self)
        precondition(
            parsed.map { "\($0)=\($1)" } == parameters.map { "\($0)=\($1)" },
            "the URI's query parameters differ from the percent-encoded ones: \(parameters) → \(parsed)")
        let again: Message
        do {
            again = try QueryParameterDecoder.decode(Message.self, from: parameters)
        } catch {
            fatalError("\(Message.protoMessageName)'s JSON \(jsonText) as a query \(parameters) is refused: \(error)")
        }
        let againJSON = try? ProtoJSON.encode(again)
        precondition(
            againJSON == json,
            "\(Message.protoMessageName) changed going through a query: \(jsonText) → "
                + String(decoding: againJSON ?? Data(), as: UTF8.self))
    }

    // MARK: Bearer tokens

    /// `Authorization` as sent. Accepted only for a token the key signed
    /// (which the seeds hold), and then with the claims it carries.
    static func authorization(_ bytes: [UInt8]) {
        let header = Self.text(bytes)
        guard let claims = Self.claims(header) else { return }
        let parts = header.split(separator: " ", maxSplits: 1)
        Self.requireAccepted(String(parts[1]).trimmingCharacters(in: .whitespaces), claims)
    }

    /// A header and payload of the input's choosing, correctly signed:
    /// input `flags, header JSON, NUL, payload JSON` (without a NUL the
    /// header is the usual one). Flag bit 0 alters the signature's last
    /// character, which must then be refused; bit 1 writes the scheme in
    /// capitals; bit 2 puts spaces around the token.
    static func signedToken(_ bytes: [UInt8]) {
        guard let flags = bytes.first else { return }
        let body = Array(bytes.dropFirst())
        var header = Array(#"{"alg":"HS256","typ":"JWT"}"#.utf8)
        var payload = body
        if let nul = body.firstIndex(of: 0) {
            header = Array(body[..<nul])
            payload = Array(body[(nul + 1)...])
        }
        var token = Door.token(header: header, payload: payload)
        let altered = flags & 1 != 0
        if altered {
            let last = token.utf8.last!
            // 1...63 places on, never all 64 round to the same character.
            let shift = Int(flags >> 2) % 63 + 1
            let replacement = Base64URL.alphabet[(Base64URL.alphabet.firstIndex(of: last)! + shift) % 64]
            token = String(token.dropLast()) + String(UnicodeScalar(replacement))
        }
        let scheme = flags & 2 != 0 ? "BEARER" : "Bearer"
        let authorization = scheme + (flags & 4 != 0 ? "   " + token + " " : " " + token)
        let claims: TokenClaims
        do {
            claims = try Door.authorizer.claims(from: authorization)
        } catch {
            let refusal = Self.unauthenticated(error)
            precondition(
                altered || refusal.message != TokenError.badSignature.description,
                "a token signed with the key is refused for its signature: \(token)")
            return
        }
        precondition(!altered, "a token whose signature was altered is accepted: \(authorization)")
        Self.requireAccepted(token, claims)
    }

    /// The refusal of a token, which must be UNAUTHENTICATED whatever the reason.
    static func unauthenticated(_ error: any Error) -> RPCError {
        guard let refusal = error as? RPCError, refusal.code == .unauthenticated else {
            fatalError("a refused token is not UNAUTHENTICATED: \(error)")
        }
        return refusal
    }

    /// The claims of an accepted `Authorization`, nil when it is refused
    /// (UNAUTHENTICATED, whatever the reason).
    static func claims(_ authorization: String) -> TokenClaims? {
        do {
            return try Door.authorizer.claims(from: authorization)
        } catch {
            _ = Self.unauthenticated(error)
            return nil
        }
    }

    /// What an accepted token must be: current, its algorithm HS256, its
    /// signature in canonical base64url, and its claims (subject, scopes,
    /// expiry) those its payload's JSON states; and the claims, signed
    /// again, verify to themselves.
    static func requireAccepted(_ token: String, _ claims: TokenClaims) {
        let seconds = Int64(Door.now.timeIntervalSince1970)
        precondition(seconds < claims.exp, "an expired token is accepted (exp \(claims.exp))")
        precondition(claims.nbf.map { $0 <= seconds } ?? true, "a token not valid yet is accepted")
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        precondition(parts.count == 3, "an accepted token has \(parts.count) parts: \(token)")
        precondition(
            Base64URL.decodeCanonical(parts[2]) != nil, "an accepted token's signature is not canonical: \(token)")
        if let header = Base64URL.decodeCanonical(parts[0]),
            let object = try? JSONSerialization.jsonObject(with: Data(header)) as? [String: Any]
        {
            precondition(object["alg"] as? String == "HS256", "a token whose alg is not HS256 is accepted: \(token)")
        }
        if let payload = Base64URL.decodeCanonical(parts[1]),
            let object = try? JSONSerialization.jsonObject(with: Data(payload)) as? [String: Any]
        {
            precondition(object["sub"] as? String == claims.sub, "an accepted token's subject is not its payload's")
            precondition(object["scope"] as? String == claims.scope, "an accepted token's scope is not its payload's")
        }
        precondition(
            claims.scopes == Set(claims.scope.split(separator: " ").map(String.init)),
            "the scopes are not the scope's words")
        let again = try? Door.signer.verify(Door.signer.sign(claims), now: Door.now)
        precondition(again == claims, "accepted claims, signed again, do not verify to themselves")
    }

    // MARK: Headers

    /// `X-Caravan-Timeout`: a duration is non-negative and fits in
    /// nanoseconds; one given in whole nanoseconds reads back the same.
    static func timeout(_ bytes: [UInt8]) {
        let text = Self.text(bytes)
        guard let duration = parseDuration(text) else { return }
        precondition(duration >= .zero, "a negative timeout \(text) is accepted")
        let (seconds, attoseconds) = duration.components
        let nanoseconds = seconds * 1_000_000_000 + attoseconds / 1_000_000_000
        precondition(attoseconds % 1_000_000_000 == 0, "\(text) is not whole nanoseconds")
        // Doubles carry integers exactly to 2^53.
        if nanoseconds <= 1 << 53 {
            precondition(parseDuration("\(nanoseconds)ns") == duration, "\(nanoseconds)ns does not read back")
        }
    }

    /// `traceparent` (then NUL, `tracestate`): well-formed exactly as the W3C
    /// says; a well-formed one's parts re-serialise to it, a child span keeps
    /// its trace, and the door continues it (or starts a well-formed trace).
    static func trace(_ bytes: [UInt8]) {
        let (traceparent, tracestate) = Self.split(bytes)
        let context = TraceContext(traceparent: traceparent, tracestate: tracestate ?? "")
        let wellFormed = W3CTraceparent.isWellFormed(Array(traceparent.utf8))
        precondition(context.isWellFormed == wellFormed, "isWellFormed is \(context.isWellFormed) for \(traceparent)")
        precondition(
            context.traceID == context.parts?.traceID,
            "traceID \(context.traceID ?? "nil") disagrees with parts \(context.parts?.traceID ?? "nil") for \(traceparent)"
        )
        precondition(context.spanID == context.parts?.parentID, "spanID disagrees with parts for \(traceparent)")
        let child = TraceContext.span(childOf: context)
        precondition(child.isWellFormed, "a child span is malformed: \(child.traceparent)")
        if let parts = context.parts {
            let version = String(traceparent.utf8.prefix(2))!
            precondition(
                "\(version)-\(parts.traceID)-\(parts.parentID)-\(parts.flags)" == String(traceparent.utf8.prefix(55))!,
                "the parts of \(traceparent) do not re-serialise to it")
            precondition(
                child.parts?.traceID == parts.traceID && child.parts?.flags == parts.flags
                    && child.tracestate == context.tracestate,
                "a child span of \(traceparent) left its trace")
        }
        let served = HTTPGatewayCaller.serverContext(
            MethodDescriptor(service: "caravan.trade.v1.TradeService", method: "ListFlows"),
            headers: .init(traceparent: traceparent, tracestate: tracestate), deadline: nil)
        precondition(served.trace?.isWellFormed == true, "the door's trace is malformed")
        if wellFormed { precondition(served.trace == context, "the door did not continue \(traceparent)") }
    }

    /// `Accept`: server-sent events exactly when a media range, parameters
    /// dropped, is `text/event-stream` in any case; a message is one event
    /// or one line.
    static func accept(_ bytes: [UInt8]) {
        let accept = Self.text(bytes)
        let framing = HTTPStreamFraming(accept: accept)
        let wanted = accept.split(separator: ",", omittingEmptySubsequences: false).contains { range in
            // Empty pieces are dropped, as the door drops them (";text/event-stream" counts).
            let type = range.split(separator: ";").first ?? ""
            return type.trimmingCharacters(in: .whitespaces).utf8.elementsEqual(
                "text/event-stream".utf8, by: { Self.asciiLowercased($0) == $1 })
                && type.trimmingCharacters(in: .whitespaces).utf8.count == "text/event-stream".utf8.count
        }
        precondition((framing == .serverSentEvents) == wanted, "Accept \(accept) picks \(framing)")
        let json = Data(#"{"text":"a\nb"}"#.utf8)
        let framed = String(decoding: framing.message(json), as: UTF8.self)
        switch framing {
        case .serverSentEvents: precondition(framed.hasSuffix("\n\n") && framed.split(separator: "\n").count == 2)
        case .jsonLines: precondition(framed.split(separator: "\n").count == 1 && framed.hasSuffix("\n"))
        }
    }

    static func asciiLowercased(_ byte: UInt8) -> UInt8 { (0x41...0x5A).contains(byte) ? byte + 0x20 : byte }

    /// `name: value` lines as the request's header fields: the door's
    /// call headers take each as given, the timeout as `parseDuration`
    /// reads it (INVALID_ARGUMENT when it cannot), and the call's context
    /// carries the token as `authorization` metadata and the key as given.
    static func headerBlock(_ bytes: [UInt8]) {
        var fields = HTTPFields()
        for line in Self.text(bytes).split(separator: "\n") {
            let pair = line.split(separator: ":", maxSplits: 1)
            guard pair.count == 2, let name = HTTPField.Name(String(pair[0])) else { continue }
            fields.append(HTTPField(name: name, value: pair[1].trimmingCharacters(in: .whitespaces)))
        }
        func field(_ name: String) -> String? { fields[HTTPField.Name(name)!] }
        let headers: HTTPGatewayCaller.CallHeaders
        do {
            headers = try GatewayHTTPServer.headers(fields, peer: "192.0.2.7:41234")
        } catch {
            precondition(error.code == .invalidArgument, "a header refused with \(error.code)")
            precondition(
                field("x-caravan-timeout").map { parseDuration($0) == nil } ?? false,
                "headers refused without a bad X-Caravan-Timeout: \(error)")
            return
        }
        precondition(
            headers.timeout == field("x-caravan-timeout").flatMap(parseDuration), "the timeout is not the header's")
        precondition(headers.idempotencyKey == field("idempotency-key"), "the idempotency key is not the header's")
        precondition(headers.traceparent == field("traceparent") && headers.tracestate == field("tracestate"))
        precondition(headers.authorization == fields[.authorization], "the authorization is not the header's")
        let context = HTTPGatewayCaller.serverContext(
            MethodDescriptor(service: "caravan.trade.v1.TradeService", method: "RecordFlow"), headers: headers,
            deadline: nil)
        precondition(context.metadata.firstString("authorization") == headers.authorization)
        precondition(context.idempotencyKey == headers.idempotencyKey && context.peer == "192.0.2.7:41234")
        precondition(context.trace?.isWellFormed == true, "the door's trace is malformed")
        _ = context.metadata.redactedDescription
        if let authorization = headers.authorization, let claims = Self.claims(authorization) {
            Self.requireAccepted(
                String(authorization.split(separator: " ", maxSplits: 1)[1]).trimmingCharacters(in: .whitespaces),
                claims)
        }
    }

    /// A write's key in its body (then NUL, the `Idempotency-Key` header):
    /// either alone is the key, both must agree, and the request is
    /// recorded without it, so that a retry may move it between the two.
    static func idempotency(_ bytes: [UInt8]) {
        let (body, header) = Self.split(bytes)
        let descriptor = MethodDescriptor(service: "caravan.trade.v1.TradeService", method: "RecordFlow")
        let request = RecordFlowRequest(flow: nil, idempotencyKey: body)
        let write: IdempotentWrite
        do {
            write = try IdempotentWrite(request, context: ServerContext(descriptor: descriptor, idempotencyKey: header))
        } catch {
            precondition(error.code == .invalidArgument, "an idempotency key refused with \(error.code)")
            precondition(!body.isEmpty && !(header ?? "").isEmpty && body != header, "a usable key is refused")
            return
        }
        let expected = body.isEmpty ? ((header ?? "").isEmpty ? nil : header) : body
        precondition(write.key == expected, "the key is \(write.key ?? "nil"), not \(expected ?? "nil")")
        let unkeyed = try? IdempotentWrite(RecordFlowRequest(), context: ServerContext(descriptor: descriptor))
        precondition(write.request == unkeyed?.request, "the recorded request still holds the key")
        do {
            let checked = try write.checkedKey()
            precondition(checked == expected, "checkedKey changed the key")
            precondition((checked?.utf8.count ?? 0) <= IdempotentWrite.maximumKeyBytes, "an overlong key is accepted")
        } catch {
            precondition(
                (expected?.utf8.count ?? 0) > IdempotentWrite.maximumKeyBytes, "a key within the limit is refused")
        }
    }

    /// `/v1/{service}/{method}` (and `?year=`, the caller's address): a
    /// method descriptor reads back from its own path, only health is open
    /// without a token, a write never needs only the read scope, and a
    /// peer's host is the peer less a numeric port.
    static func path(_ bytes: [UInt8]) {
        let text = Self.text(bytes)
        let uri = URI(text)
        if let descriptor = MethodDescriptor(path: String(uri.path)) {
            precondition(MethodDescriptor(path: descriptor.path) == descriptor, "\(descriptor.path) does not read back")
            precondition(!descriptor.service.isEmpty && !descriptor.method.isEmpty && !descriptor.method.contains("/"))
            switch MethodAccess.requirement(for: descriptor) {
            case .open:
                precondition(MethodAccess.openServices.contains(descriptor.service), "\(descriptor) is open")
            case .scope(let scope):
                if MethodAccess.writes[descriptor.service]?.contains(descriptor.method) == true {
                    precondition(scope == CaravanScope.write, "the write \(descriptor) needs only \(scope)")
                }
            }
        }
        if let year = uri.queryParameters.get("year") { _ = UInt32(year) }
        let host = CallerIdentity.peerHost(text)
        if host != text {
            precondition(text.hasPrefix(host + ":"), "the host of \(text) is \(host)")
            let port = text.dropFirst(host.count + 1)
            precondition(!port.isEmpty && port.utf8.allSatisfy { (0x30...0x39).contains($0) }, "\(text) has no port")
        }
    }
}
