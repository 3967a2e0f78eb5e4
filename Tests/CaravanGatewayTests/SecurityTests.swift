import CaravanAuth
import CaravanCore
import CaravanGateway
import CaravanGatewayAPI
import CaravanLogisticsAPI
import CaravanServer
import CaravanServiceKit
import CaravanTradeAPI
import CaravanTrainingAPI
import Crypto
import Foundation
import Testing

@testable import CaravanGatewayHTTP

private let key = Array("0123456789abcdef0123456789abcdef-test-key".utf8)
private let now = Date(timeIntervalSince1970: 1_900_000_000)

private func token(
    scope: String = "caravan.read caravan.write", sub: String = "alice", expiresIn seconds: Int64 = 600,
    key: [UInt8] = key
) throws -> String {
    let issued = Int64(now.timeIntervalSince1970)
    return try TokenSigner(key: key).sign(TokenClaims(sub: sub, scope: scope, exp: issued + seconds, iat: issued))
}

@Suite("Bearer tokens (HS256 JWT)")
struct BearerTokenTests {
    let signer = try! TokenSigner(key: key)

    @Test("A token verifies with its key and gives back its claims")
    func roundTrip() throws {
        let claims = try self.signer.verify(try token(scope: "caravan.read"), now: now)
        #expect(claims.sub == "alice")
        #expect(claims.scopes == ["caravan.read"])
        #expect(claims.exp == Int64(now.timeIntervalSince1970) + 600)
    }

    @Test("A changed payload, a changed signature or another key is a bad signature")
    func tampered() throws {
        let parts = try token(scope: "caravan.read").split(separator: ".").map(String.init)
        // The same header and signature over claims that grant more.
        let forged = #"{"exp":9999999999,"scope":"caravan.read caravan.write","sub":"alice"}"#
        let forgedPayload = Data(forged.utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
        #expect(throws: TokenError.badSignature) {
            try self.signer.verify([parts[0], forgedPayload, parts[2]].joined(separator: "."), now: now)
        }
        var signature = Array(parts[2])
        signature[0] = signature[0] == "A" ? "B" : "A"
        #expect(throws: TokenError.badSignature) {
            try self.signer.verify([parts[0], parts[1], String(signature)].joined(separator: "."), now: now)
        }
        let otherKey = Array("another key of at least thirty-two bytes".utf8)
        #expect(throws: TokenError.badSignature) { try self.signer.verify(try token(key: otherKey), now: now) }
    }

    @Test("An expired or not-yet-valid token is refused")
    func expiry() throws {
        #expect(throws: TokenError.expired) { try self.signer.verify(try token(expiresIn: -1), now: now) }
        #expect(throws: TokenError.expired) { try self.signer.verify(try token(expiresIn: 0), now: now) }
        let issued = Int64(now.timeIntervalSince1970)
        let early = self.signer.sign(TokenClaims(sub: "a", scope: "caravan.read", exp: issued + 600, nbf: issued + 60))
        #expect(throws: TokenError.notYetValid) { try self.signer.verify(early, now: now) }
    }

    @Test(
        "Malformed tokens and other algorithms are refused",
        arguments: [
            "", "abc", "a.b", "a.b.c.d", "!!.??.**", "e30.e30.", "eyJhbGciOiJIUzI1NiJ9.bm90IGpzb24.c2ln",
        ])
    func malformed(_ text: String) {
        #expect(throws: TokenError.self) { try self.signer.verify(text, now: now) }
    }

    @Test("alg none is refused even with a valid-looking body")
    func algNone() throws {
        let parts = try token().split(separator: ".").map(String.init)
        let none = Data(#"{"alg":"none","typ":"JWT"}"#.utf8).base64EncodedString().replacingOccurrences(
            of: "=", with: "")
        #expect(throws: TokenError.unsupportedAlgorithm("none")) {
            try self.signer.verify("\(none).\(parts[1]).", now: now)
        }
    }

    // Found by HTTPDoorFuzzer: JSONDecoder reads the first of two members
    // of one name, so `{"alg":"HS256","alg":"none"}` verified as HS256
    // while other readers of the token (which take the last) saw none.
    @Test(
        "A header or claims naming a member twice are refused (RFC 7515 §4, RFC 7519 §4)",
        arguments: [
            (#"{"alg":"HS256","alg":"none"}"#, #"{"exp":1900000600,"scope":"caravan.read","sub":"a"}"#),
            (#"{"alg":"HS256","\u0061lg":"HS256"}"#, #"{"exp":1900000600,"scope":"caravan.read","sub":"a"}"#),
            (#"{"alg":"HS256"}"#, #"{"exp":1900000600,"scope":"caravan.read","scope":"caravan.write","sub":"a"}"#),
        ])
    func repeatedMembers(_ header: String, _ claims: String) throws {
        func part(_ text: String) -> String {
            Data(text.utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-")
                .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        }
        let signingInput = part(header) + "." + part(claims)
        let mac = HMAC<SHA256>.authenticationCode(for: Data(signingInput.utf8), using: SymmetricKey(data: key))
        let signature = Data(mac).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        #expect(throws: TokenError.self) { try self.signer.verify(signingInput + "." + signature, now: now) }
        // Each member once, the same token verifies: the refusal is for the repetition alone.
        let once = part(#"{"alg":"HS256"}"#) + "." + part(#"{"exp":1900000600,"scope":"caravan.read","sub":"a"}"#)
        let onceMAC = HMAC<SHA256>.authenticationCode(for: Data(once.utf8), using: SymmetricKey(data: key))
        let onceSignature = Data(onceMAC).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        #expect(try self.signer.verify(once + "." + onceSignature, now: now).scope == "caravan.read")
    }

    // Found by HTTPDoorFuzzer: the signature's last character carries two
    // bits past the 32 bytes, which Foundation's decoding ignores, so four
    // spellings of one signature verified.
    @Test("A signature only in canonical base64url: other spellings of the same bytes are malformed")
    func canonicalSignature() throws {
        let parts = try token().split(separator: ".").map(String.init)
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        let last = try #require(alphabet.firstIndex(of: parts[2].last!))
        #expect(last & 3 == 0)
        for padding in 1...3 {
            let signature = String(parts[2].dropLast()) + String(alphabet[last | padding])
            #expect(throws: TokenError.malformed("a part is not base64url")) {
                try self.signer.verify([parts[0], parts[1], signature].joined(separator: "."), now: now)
            }
        }
        #expect(try self.signer.verify(parts.joined(separator: "."), now: now).sub == "alice")
    }

    @Test("A key shorter than 32 bytes is refused")
    func shortKey() {
        #expect(throws: TokenKeyError.self) { try TokenSigner(key: Array("short".utf8)) }
    }
}

@Suite("Which scope each method needs")
struct MethodAccessTests {
    @Test("Every routed method is declared a read or a write, never both")
    func tableIsComplete() {
        let schemas = [TradeService.schema, LogisticsService.schema, TrainingService.schema, Gateway.schema]
        for schema in schemas {
            for method in schema.methods.map(\.descriptor) {
                let read = MethodAccess.reads[method.service]?.contains(method.method) ?? false
                let write = MethodAccess.writes[method.service]?.contains(method.method) ?? false
                #expect(read != write, "\(method.path) must be listed exactly once")
            }
        }
        // Nothing listed that does not exist.
        let known = Set(schemas.flatMap { $0.methods.map(\.descriptor.path) })
        for (service, methods) in MethodAccess.writes {
            for method in methods { #expect(known.contains("/\(service)/\(method)"), "\(service)/\(method)") }
        }
    }

    @Test("Writes need caravan.write, reads caravan.read, unknown methods caravan.write, health nothing")
    func requirements() {
        #expect(MethodAccess.requirement(for: TradeService.Method.recordFlow) == .scope(CaravanScope.write))
        #expect(MethodAccess.requirement(for: TrainingService.Method.enrol) == .scope(CaravanScope.write))
        #expect(MethodAccess.requirement(for: TradeService.Method.listFlows) == .scope(CaravanScope.read))
        #expect(MethodAccess.requirement(for: Gateway.Method.countryProfile) == .scope(CaravanScope.read))
        #expect(
            MethodAccess.requirement(for: MethodDescriptor(service: "caravan.trade.v1.TradeService", method: "DropAll"))
                == .scope(CaravanScope.write))
        #expect(
            MethodAccess.requirement(for: MethodDescriptor(service: "caravan.health.v1.Health", method: "Check"))
                == .open)
    }
}

@Suite("Admission at the gateway")
struct GatewayAdmissionTests {
    /// A router forwarding trade's methods to `backend`, behind the auth interceptor.
    func router(_ backend: RecordingTransport, rateLimit: GatewaySecurity.RateLimit? = nil) throws -> RPCRouter {
        var router = RPCRouter()
        router.interceptors = [GatewayAuthInterceptor(signer: try TokenSigner(key: key), now: { now })]
        if let rateLimit {
            router.interceptors.append(
                RateLimitInterceptor(limiter: RateLimiter(rate: rateLimit.rate, burst: rateLimit.burst)))
        }
        router.register(ForwardingService(schema: TradeService.schema, transport: backend))
        return router
    }

    func call(_ router: RPCRouter, _ method: MethodDescriptor, authorization: String?) async -> Result<
        [UInt8], RPCError
    > {
        guard case .unary(let handler) = router.route(forPath: method.path)?.handler else {
            return .failure(RPCError(code: .unimplemented, message: "no route"))
        }
        var metadata = Metadata()
        if let authorization { metadata.addString(authorization, forKey: "authorization") }
        let context = ServerContext(descriptor: method, metadata: metadata, peer: "127.0.0.1:40000")
        return await router.handleUnary(handler, request: [1], context: context)
    }

    func code(_ result: Result<[UInt8], RPCError>) -> RPCError.Code? {
        if case .failure(let error) = result { return error.code }
        return nil
    }

    @Test("No token, a malformed header, a tampered or expired token: UNAUTHENTICATED, nothing forwarded")
    func unauthenticated() async throws {
        let backend = RecordingTransport()
        let router = try self.router(backend)
        let write = TradeService.Method.recordFlow
        let good = try token()
        let parts = good.split(separator: ".").map(String.init)
        let tampered = [parts[0], parts[1].dropLast() + (parts[1].last == "A" ? "B" : "A"), parts[2]].joined(
            separator: ".")
        for authorization in [
            nil, "Basic YWxpY2U6c2VjcmV0", "Bearer", "Bearer \(tampered)", "Bearer \(try token(expiresIn: -5))",
        ] {
            #expect(
                self.code(await self.call(router, write, authorization: authorization)) == .unauthenticated,
                "\(authorization ?? "none")")
        }
        #expect(backend.seen.isEmpty)
    }

    @Test("A read-only token may read but not write: PERMISSION_DENIED, nothing forwarded")
    func wrongScope() async throws {
        let backend = RecordingTransport()
        let router = try self.router(backend)
        let reader = "Bearer " + (try token(scope: "caravan.read"))
        #expect(
            self.code(await self.call(router, TradeService.Method.recordFlow, authorization: reader))
                == .permissionDenied)
        #expect(backend.seen.isEmpty)
        #expect(self.code(await self.call(router, TradeService.Method.listFlows, authorization: reader)) == nil)
        #expect(backend.seen.count == 1)
        let writer = "bearer " + (try token(scope: "caravan.write"))
        #expect(
            self.code(await self.call(router, TradeService.Method.listFlows, authorization: writer))
                == .permissionDenied)
        #expect(self.code(await self.call(router, TradeService.Method.recordFlow, authorization: writer)) == nil)
        #expect(backend.seen.count == 2)
    }

    @Test("The client's token is not passed on to the backend")
    func tokenStaysAtTheGateway() async throws {
        let backend = RecordingTransport()
        let router = try self.router(backend)
        _ = await self.call(router, TradeService.Method.getFlow, authorization: "Bearer " + (try token()))
        let options = try #require(backend.seen.first)
        #expect(options.metadata.firstString("authorization") == nil)
    }

    @Test("Rate limit per subject: a burst of N passes, call N+1 is RESOURCE_EXHAUSTED with retry-after-ms")
    func rateLimit() async throws {
        let backend = RecordingTransport()
        let router = try self.router(backend, rateLimit: .init(rate: 0.5, burst: 3))
        let alice = "Bearer " + (try token(sub: "alice"))
        for _ in 0..<3 {
            #expect(self.code(await self.call(router, TradeService.Method.getFlow, authorization: alice)) == nil)
        }
        let refused = await self.call(router, TradeService.Method.getFlow, authorization: alice)
        guard case .failure(let error) = refused else {
            Issue.record("call 4 passed")
            return
        }
        #expect(error.code == .resourceExhausted)
        let retryAfter = try #require(error.retryAfterMilliseconds)
        // One token comes back every 2 s at 0.5/s.
        #expect(retryAfter > 1000 && retryAfter <= 2000)
        #expect(backend.seen.count == 3)
        // Another subject has its own bucket.
        let bob = "Bearer " + (try token(sub: "bob"))
        #expect(self.code(await self.call(router, TradeService.Method.getFlow, authorization: bob)) == nil)
        // HTTP callers see 429 with Retry-After in whole seconds.
        let answer = HTTPGatewayCaller.error(error)
        #expect(answer.status == 429)
        #expect(answer.retryAfterMilliseconds == retryAfter)
    }
}

@Suite("Token buckets")
struct RateLimiterTests {
    @Test("Tokens come back at the rate, never above the burst")
    func refill() {
        let limiter = RateLimiter(rate: 10, burst: 2)
        let start = ContinuousClock.now
        #expect(limiter.acquire("a", now: start) == .allowed)
        #expect(limiter.acquire("a", now: start) == .allowed)
        guard case .refused(let wait) = limiter.acquire("a", now: start) else {
            Issue.record("a third call at once passed")
            return
        }
        #expect(wait == .milliseconds(100))
        #expect(limiter.acquire("a", now: start.advanced(by: .milliseconds(100))) == .allowed)
        // A long pause refills to the burst, not beyond.
        let later = start.advanced(by: .seconds(60))
        #expect(limiter.acquire("a", now: later) == .allowed)
        #expect(limiter.acquire("a", now: later) == .allowed)
        #expect(limiter.acquire("a", now: later) != .allowed)
    }

    @Test("Callers past the memory bound forget only refilled buckets")
    func bounded() {
        let limiter = RateLimiter(rate: 1, burst: 1, maxCallers: 2)
        let start = ContinuousClock.now
        _ = limiter.acquire("a", now: start)
        _ = limiter.acquire("b", now: start)
        _ = limiter.acquire("c", now: start.advanced(by: .seconds(5)))
        #expect(limiter.callerCount == 1)
        _ = limiter.acquire("d", now: start.advanced(by: .seconds(5)))
        _ = limiter.acquire("e", now: start.advanced(by: .seconds(5)))
        // c and d are still draining: both kept, so e is added beside them.
        #expect(limiter.callerCount == 3)
    }
}

@Suite("Service token")
struct ServiceTokenTests {
    @Test("The gateway's backend calls carry the service token and never the client's")
    func stamped() async throws {
        let replica = FakeReplica(Endpoint(host: "127.0.0.1", port: 1))
        let transport = ServiceTokenChannel(replica, token: "s3cret")
        var options = ResolvedCallOptions()
        options.metadata.addString("client-forged", forKey: ServiceTokenInterceptor.metadataKey)
        options.metadata.addString("Bearer x", forKey: "authorization")
        let stamped = transport.stamped(options)
        #expect(stamped.metadata[stringValues: ServiceTokenInterceptor.metadataKey] == ["s3cret"])
        #expect(stamped.metadata.firstString("authorization") == nil)
    }

    @Test("Secrets are redacted from metadata written to logs")
    func redaction() {
        let metadata: Metadata = [
            "authorization": "Bearer abc.def.ghi", "x-caravan-service-token": "s3cret", "x-request-id": "42",
        ]
        let text = metadata.redactedDescription
        #expect(!text.contains("abc.def") && !text.contains("s3cret"))
        #expect(text.contains("x-request-id: 42"))
    }
}
