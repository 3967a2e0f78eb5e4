import CaravanAuth
import CaravanTestSupport
import Foundation
import Testing

/// TLS, mutual TLS, bearer tokens, the service token and rate limits, with
/// the real executables and certificates made by deploy/tls/make-dev-certs.sh.
@Suite("Security end to end", .serialized)
struct SecurityEndToEndTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    // Exit codes of `caravan call`: 64 + the status code.
    static let unauthenticated: Int32 = 64 + 16
    static let permissionDenied: Int32 = 64 + 7
    static let unavailable: Int32 = 64 + 14
    static let resourceExhausted: Int32 = 64 + 8

    /// A scratch directory with two independent sets of certificates
    /// (`certs/`, and `other/` from another CA), the gateway's signing key
    /// and the service token.
    final class Fixture: Sendable {
        let directory: TemporaryDirectory
        init() async throws {
            self.directory = try TemporaryDirectory("security-e2e")
            for set in ["certs", "other"] {
                let result = try await runProgram(
                    SecurityEndToEndTests.root.appendingPathComponent("deploy/tls/make-dev-certs.sh").path,
                    [self.path(set), "2"])
                try #require(result.status == 0, "make-dev-certs.sh: \(result.stderr)")
            }
            try self.write("auth.key", String(repeating: "k3y-", count: 12) + "\n")
            try self.write("service.token", UUID().uuidString + "\n")
        }

        func path(_ name: String) -> String { self.directory.path(name) }
        func cert(_ name: String, set: String = "certs") -> String { self.path("\(set)/\(name)") }

        func write(_ name: String, _ text: String) throws {
            try text.write(toFile: self.path(name), atomically: true, encoding: .utf8)
        }

        /// Mints a token with `caravan token`; returns the path of a file holding it.
        func token(_ name: String, scope: String, subject: String = "e2e") async throws -> String {
            let minted = try await runCommand(
                "caravan",
                ["token", "--key-file", self.path("auth.key"), "--subject", subject, "--scope", scope, "--ttl", "10m"])
            try #require(minted.status == 0, "caravan token: \(minted.stderr)")
            try self.write(name, minted.stdout)
            return self.path(name)
        }

        deinit { self.directory.remove() }
    }

    func startTrade(_ fixture: Fixture) async throws -> ServerProcess {
        try await ServerProcess(
            "caravan-trade",
            [
                "--port", "0", "--data-dir", fixture.path("trade-data"), "--log-level", "warning",
                "--tls-cert", fixture.cert("trade.crt"), "--tls-key", fixture.cert("trade.key"),
                "--tls-client-ca", fixture.cert("service-client-ca.crt"),
                "--service-token-file", fixture.path("service.token"),
            ])
    }

    func startGateway(_ fixture: Fixture, trade: ServerProcess) async throws -> ServerProcess {
        try await ServerProcess(
            "caravan-gateway",
            [
                "--port", "0", "--http-port", "0", "--log-level", "warning", "--trade", trade.address,
                "--tls-cert", fixture.cert("gateway.crt"), "--tls-key", fixture.cert("gateway.key"),
                "--backend-tls-ca", fixture.cert("ca.crt"),
                "--backend-tls-cert", fixture.cert("gateway-client.crt"),
                "--backend-tls-key", fixture.cert("gateway-client.key"),
                "--service-token-file", fixture.path("service.token"),
                "--auth-key-file", fixture.path("auth.key"),
            ])
    }

    /// `caravan call` with the given TLS flags and token file.
    func call(_ address: String, _ method: String, _ json: String, tls: [String], token: String? = nil) async throws
        -> CommandResult
    {
        let tokenFlags = token.map { ["--token-file", $0] } ?? []
        return try await runCommand(
            "caravan",
            ["call", "--timeout", "10s"] + tls + tokenFlags + [
                address, "caravan.trade.v1.TradeService/" + method, json,
            ])
    }

    static func flow(_ category: String) -> String {
        #"{"flow":{"year":2024,"month":3,"country":"KZ","direction":"DIRECTION_EXPORT","category":"\#(category)","valueUsd":1000,"source":"security e2e (synthetic)","synthetic":true}}"#
    }

    /// How many flows of `category` the trade service holds, read through the gateway.
    func flowCount(_ category: String, gateway: String, tls: [String], token: String) async throws -> Int {
        let listed = try await self.call(
            gateway, "ListFlows", #"{"filter":{"category":"\#(category)"}}"#, tls: tls, token: token)
        try #require(listed.status == 0, "ListFlows: \(listed.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [String: Any])
        return (object["flows"] as? [Any])?.count ?? 0
    }

    @Test("Through the gateway over TLS and mTLS: tokens decide, bypassing the gateway gets nothing")
    func gatewayIsTheOnlyDoor() async throws {
        let fixture = try await Fixture()
        let trade = try await self.startTrade(fixture)
        let gateway = try await self.startGateway(fixture, trade: trade)
        let toGateway = ["--tls-ca", fixture.cert("ca.crt")]
        let reader = try await fixture.token("reader", scope: "caravan.read")
        let writer = try await fixture.token("writer", scope: "caravan.read caravan.write")

        // Happy path: client → gateway over TLS, gateway → trade over mTLS with the service token.
        let ready = try await eventually {
            try await self.call(gateway.address, "ListFlows", "{}", tls: toGateway, token: reader).status == 0
        }
        try #require(ready, "the gateway never reached trade over mTLS: \(gateway.log) \(trade.log)")
        let written = try await self.call(
            gateway.address, "RecordFlow", Self.flow("sec-ok"), tls: toGateway, token: writer)
        #expect(written.status == 0, "\(written.stderr)")
        #expect(try await self.flowCount("sec-ok", gateway: gateway.address, tls: toGateway, token: reader) == 1)

        // No token, an expired one, a tampered one: UNAUTHENTICATED; the wrong scope: PERMISSION_DENIED.
        let issued = Int64(Date().timeIntervalSince1970) - 3600
        let signer = try TokenSigner(keyFile: fixture.path("auth.key"))
        try fixture.write(
            "expired", signer.sign(TokenClaims(sub: "e2e", scope: "caravan.write", exp: issued + 60, iat: issued)))
        let parts = try String(contentsOfFile: writer, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            .split(separator: ".").map(String.init)
        let claims = #"{"exp":9999999999,"scope":"caravan.read caravan.write","sub":"mallory"}"#
        let forged = Data(claims.utf8).base64EncodedString().replacingOccurrences(of: "=", with: "")
        try fixture.write("tampered", [parts[0], forged, parts[2]].joined(separator: "."))
        let refusals: [(String?, Int32, String)] = [
            (nil, Self.unauthenticated, "sec-none"),
            (fixture.path("expired"), Self.unauthenticated, "sec-expired"),
            (fixture.path("tampered"), Self.unauthenticated, "sec-tampered"),
            (reader, Self.permissionDenied, "sec-scope"),
        ]
        for (token, code, category) in refusals {
            let result = try await self.call(
                gateway.address, "RecordFlow", Self.flow(category), tls: toGateway, token: token)
            #expect(result.status == code, "\(category): \(result.stderr)")
            #expect(
                try await self.flowCount(category, gateway: gateway.address, tls: toGateway, token: reader) == 0,
                "\(category)")
        }

        // Straight to the service, around the gateway.
        let toTrade = ["--tls-ca", fixture.cert("ca.crt")]
        let attempts: [(String, [String], Int32)] = [
            // A certificate from the right CA family but not the gateway's client CA.
            (
                "sec-direct-cli",
                toTrade + ["--tls-cert", fixture.cert("cli.crt"), "--tls-key", fixture.cert("cli.key")],
                Self.unavailable
            ),
            // No client certificate at all.
            ("sec-direct-nocert", toTrade, Self.unavailable),
            // The gateway's certificate, but not the service token: the second wall.
            (
                "sec-direct-stolen-cert",
                toTrade + [
                    "--tls-cert", fixture.cert("gateway-client.crt"), "--tls-key", fixture.cert("gateway-client.key"),
                ],
                Self.unauthenticated
            ),
            // A client certificate from another CA.
            (
                "sec-direct-other-ca",
                toTrade + [
                    "--tls-cert", fixture.cert("gateway-client.crt", set: "other"),
                    "--tls-key", fixture.cert("gateway-client.key", set: "other"),
                ],
                Self.unavailable
            ),
            // Plaintext to a TLS server.
            ("sec-direct-plaintext", [], Self.unavailable),
        ]
        for (category, flags, code) in attempts {
            let result = try await self.call(
                trade.address, "RecordFlow", Self.flow(category), tls: flags, token: writer)
            #expect(result.status == code, "\(category): \(result.stderr)")
            #expect(
                try await self.flowCount(category, gateway: gateway.address, tls: toGateway, token: reader) == 0,
                "\(category)")
        }

        // A server certificate from another CA: the client refuses the gateway.
        let spoofed = try await self.call(
            gateway.address, "ListFlows", "{}", tls: ["--tls-ca", fixture.cert("ca.crt", set: "other")], token: reader)
        #expect(spoofed.status == Self.unavailable, "\(spoofed.stderr)")
        #expect(spoofed.stderr.lowercased().contains("certificate"), "\(spoofed.stderr)")

        // Probes: health needs the client CA's certificate but no service token.
        let probe = try await runCommand(
            "caravan",
            [
                "health", "--tls-ca", fixture.cert("ca.crt"), "--tls-cert", fixture.cert("probe.crt"),
                "--tls-key", fixture.cert("probe.key"), trade.address,
            ])
        #expect(probe.status == 0 && probe.stdout.contains("SERVING"), "\(probe.stderr)")
        // The gateway's health needs no token either.
        let gatewayHealth = try await runCommand("caravan", ["health"] + toGateway + [gateway.address])
        #expect(gatewayHealth.status == 0, "\(gatewayHealth.stderr)")

        // HTTPS (the RPC listener's certificate): 401 without a token (saying Bearer), 403 with the
        // wrong scope, 200 with the right one; plain HTTP and a client trusting another CA get nothing.
        let https = try await Self.httpBase(gateway, scheme: "https")
        let path = "\(https)/v1/caravan.trade.v1.TradeService/RecordFlow"
        let trustOther = [
            "--cacert", fixture.cert("ca.crt", set: "other"), "-X", "POST", "-d", Self.flow("sec-http"), path,
        ]
        #expect(try await curl(trustOther).status == 0)
        #expect(try await curl([try await Self.httpBase(gateway, scheme: "http") + "/healthz"]).status != 200)
        let cacert = ["--cacert", fixture.cert("ca.crt")]
        let anonymous = try await curl(cacert + ["-X", "POST", "-d", Self.flow("sec-http"), path])
        #expect(anonymous.status == 401)
        #expect(anonymous.headers["www-authenticate"]?.lowercased() == "bearer")
        let readerToken = try String(contentsOfFile: reader, encoding: .utf8).trimmingCharacters(in: .newlines)
        let denied = try await curl(
            cacert + [
                "-X", "POST", "-H", "Authorization: Bearer \(readerToken)", "-d", Self.flow("sec-http"), path,
            ])
        #expect(denied.status == 403)
        #expect(try await self.flowCount("sec-http", gateway: gateway.address, tls: toGateway, token: reader) == 0)
        let writerToken = try String(contentsOfFile: writer, encoding: .utf8).trimmingCharacters(in: .newlines)
        let allowed = try await curl(
            cacert + [
                "-X", "POST", "-H", "Authorization: Bearer \(writerToken)", "-d", Self.flow("sec-http"), path,
            ])
        #expect(allowed.status == 200, "\(allowed.body)")

        // Secrets stay out of the logs.
        for log in [gateway.log, trade.log] {
            #expect(!log.contains(parts[2]))
            #expect(
                !log.contains(
                    try String(contentsOfFile: fixture.path("service.token"), encoding: .utf8).trimmingCharacters(
                        in: .newlines)))
        }
        _ = try await gateway.stop()
        _ = try await trade.stop()
    }

    @Test("Rate limit per client: a burst of N passes, then RESOURCE_EXHAUSTED (RPC) and 429 with Retry-After (HTTP)")
    func rateLimit() async throws {
        let gateway = try await ServerProcess(
            "caravan-gateway",
            ["--port", "0", "--http-port", "0", "--log-level", "warning", "--rate-limit", "0.02", "--rate-burst", "3"])
        // Reflection is served by the gateway itself and counts as a read; without auth the caller is the address.
        for call in 1...3 {
            let listed = try await runCommand("caravan", ["list", gateway.address])
            #expect(listed.status == 0, "call \(call): \(listed.stderr)")
        }
        let refused = try await runCommand("caravan", ["list", gateway.address])
        #expect(refused.status == Self.resourceExhausted, "\(refused.stderr)")
        #expect(refused.stderr.contains("retry in"), "\(refused.stderr)")
        // Health is never limited.
        #expect(try await runCommand("caravan", ["health", gateway.address]).status != Self.resourceExhausted)

        // Over HTTP the caller is the client's address too: 127.0.0.2 has a
        // burst of its own, whatever 127.0.0.1 used over RPC.
        let http = try await Self.httpBase(gateway)
        var statuses: [Int] = []
        var retryAfter: String?
        for _ in 1...4 {
            let answer = try await curl(["--interface", "127.0.0.2", "\(http)/v1/overview?year=2024"])
            statuses.append(answer.status)
            if answer.status == 429 {
                retryAfter = answer.headers["retry-after"]
            }
        }
        #expect(!statuses.prefix(3).contains(429), "\(statuses)")
        #expect(statuses.last == 429, "\(statuses)")
        // One call every 50 s (slow enough that no call of the burst
        // earns a new one on a busy machine): the next is 1 to 50 whole seconds away.
        let seconds = try #require(retryAfter.flatMap { Int($0) })
        #expect((1...50).contains(seconds))
        let another = try await curl(["--interface", "127.0.0.3", "\(http)/v1/overview?year=2024"])
        #expect(another.status != 429, "a third client shares no bucket with the others")
        _ = try await gateway.stop()
    }

    @Test("Security settings that cannot work are refused at start, naming the problem")
    func badSettings() async throws {
        let fixture = try await Fixture()
        try fixture.write("short.key", "too short\n")
        try fixture.write("empty.token", "\n")
        let cases: [(String, [String], String)] = [
            ("caravan-gateway", ["--rate-burst", "3"], "--rate-burst needs --rate-limit"),
            ("caravan-gateway", ["--rate-limit", "0"], "--rate-limit takes calls per second above 0"),
            ("caravan-gateway", ["--auth-key-file", fixture.path("short.key")], "at least 32"),
            ("caravan-gateway", ["--tls-cert", fixture.cert("gateway.crt")], "--tls-cert and --tls-key go together"),
            (
                "caravan-gateway", ["--backend-tls-cert", fixture.cert("gateway-client.crt")],
                "both its certificate file and its key file"
            ),
            (
                "caravan-trade", ["--tls-cert", fixture.path("missing.crt"), "--tls-key", fixture.cert("trade.key")],
                "Cannot load TLS"
            ),
            (
                "caravan-trade", ["--tls-cert", fixture.cert("trade.crt"), "--tls-key", fixture.cert("logistics.key")],
                "Cannot load TLS"
            ),
            ("caravan-trade", ["--tls-client-ca", fixture.cert("ca.crt")], "--tls-client-ca needs --tls-cert"),
            ("caravan-trade", ["--service-token-file", fixture.path("empty.token")], "service token is empty"),
            ("caravan", ["token", "--key-file", fixture.path("auth.key"), "--subject", "a", "--ttl", "-5m"], "--ttl"),
            ("caravan", ["token", "--key-file", fixture.path("short.key"), "--subject", "a"], "at least 32"),
        ]
        for (executable, arguments, message) in cases {
            let data = ["--port", "0", "--data-dir", fixture.path("data-\(UUID().uuidString)")]
            let result = try await runCommand(
                executable, executable == "caravan-trade" ? data + arguments : arguments, timeout: .seconds(30))
            #expect(result.status != 0, "\(executable) \(arguments) started")
            #expect(result.stderr.contains(message), "\(executable) \(arguments): \(result.stderr)")
        }
    }

    /// `SCHEME://HOST:PORT` of the gateway's HTTP door, once it announces it.
    static func httpBase(_ gateway: ServerProcess, scheme: String = "http") async throws -> String {
        "\(scheme)://" + (try await gateway.announced("caravan-gateway HTTP on "))
    }
}
