import CaravanCore
import CaravanEchoAPI
import CaravanTCP
import CaravanTestSupport
import Foundation
import Testing

/// Certificates from deploy/tls/make-dev-certs.sh, made once for the suite:
/// `certs/` and, from another CA, `other/`.
private let certificates = Task { () async throws -> String in
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    let directory = try TemporaryDirectory("tls").path
    for set in ["certs", "other"] {
        let made = try await runProgram(
            root.appendingPathComponent("deploy/tls/make-dev-certs.sh").path, [directory + "/" + set, "2"])
        try #require(made.status == 0, "deploy/tls/make-dev-certs.sh failed (is openssl installed?): \(made.stderr)")
    }
    return directory
}

private func file(_ name: String, set: String = "certs") async throws -> String {
    "\(try await certificates.value)/\(set)/\(name)"
}

@Suite("TLS and mutual TLS on the transport")
struct TLSTests {
    func serverConfiguration(clientCA: String? = nil) async throws -> ServerConfiguration {
        var configuration = ServerConfiguration()
        configuration.tls = try ServerTLS(
            certificateChainFile: try await file("trade.crt"), privateKeyFile: try await file("trade.key"),
            clientCAFile: clientCA)
        return configuration
    }

    func clientConfiguration(ca: String, cert: String? = nil, key: String? = nil) throws -> ClientConfiguration {
        var configuration = ClientConfiguration(connectTimeout: .seconds(5))
        configuration.tls = try ClientTLS(trustRootsFile: ca, certificateChainFile: cert, privateKeyFile: key)
        return configuration
    }

    @Test("Unary and streaming calls over TLS, the certificate checked against the IP dialled")
    func tlsCalls() async throws {
        try await withTimeLimit {
            try await withServer(configuration: try await self.serverConfiguration()) { _, port in
                try await withClient(
                    port: port, configuration: try self.clientConfiguration(ca: try await file("ca.crt"))
                ) { client, _ in
                    let echo = EchoClient(wrapping: client)
                    #expect(
                        try await echo.unary(echoRequest("over tls", payload: Array(repeating: 7, count: 100_000))).text
                            == "over tls")
                    let echoed = try await echo.bidiStream(
                        requests: { writer in
                            for word in ["x", "y", "z"] { try await writer.write(echoRequest(word)) }
                        },
                        onResponse: { stream in
                            var texts: [String] = []
                            for try await message in stream { texts.append(message.text) }
                            return texts
                        })
                    #expect(echoed == ["x", "y", "z"])
                }
            }
        }
    }

    @Test("Mutual TLS admits a certificate the client CA signed and refuses others")
    func mutualTLS() async throws {
        try await withTimeLimit {
            let configuration = try await self.serverConfiguration(clientCA: try await file("service-client-ca.crt"))
            try await withServer(configuration: configuration) { server, port in
                let admitted = try self.clientConfiguration(
                    ca: try await file("ca.crt"), cert: try await file("gateway-client.crt"),
                    key: try await file("gateway-client.key"))
                try await withClient(port: port, configuration: admitted) { client, _ in
                    let answer = try await EchoClient(wrapping: client).unary(echoRequest("admitted"))
                    #expect(answer.text == "admitted")
                }
                let refused: [(String, ClientConfiguration)] = [
                    ("no certificate", try self.clientConfiguration(ca: try await file("ca.crt"))),
                    (
                        "signed by the other CA of the set",
                        try self.clientConfiguration(
                            ca: try await file("ca.crt"), cert: try await file("cli.crt"),
                            key: try await file("cli.key"))
                    ),
                    (
                        "from another CA",
                        try self.clientConfiguration(
                            ca: try await file("ca.crt"), cert: try await file("gateway-client.crt", set: "other"),
                            key: try await file("gateway-client.key", set: "other"))
                    ),
                ]
                for (name, configuration) in refused {
                    try await withClient(port: port, configuration: configuration) { client, _ in
                        let error = await #expect(throws: RPCError.self, "\(name)") {
                            try await EchoClient(wrapping: client).unary(echoRequest(name))
                        }
                        #expect(error?.code == .unavailable, "\(name): \(String(describing: error))")
                    }
                }
            }
        }
    }

    @Test(
        "A client refuses a server whose certificate another CA signed, and plaintext meets a TLS server with nothing")
    func wrongCAAndPlaintext() async throws {
        try await withTimeLimit {
            try await withServer(configuration: try await self.serverConfiguration()) { _, port in
                let otherCA = try self.clientConfiguration(ca: try await file("ca.crt", set: "other"))
                try await withClient(port: port, configuration: otherCA) { client, _ in
                    let error = await #expect(throws: RPCError.self) {
                        try await EchoClient(wrapping: client).unary(echoRequest("spoofed"))
                    }
                    #expect(error?.code == .unavailable)
                    #expect(
                        error?.message.contains("CERTIFICATE_VERIFY_FAILED") == true, "\(String(describing: error))")
                }
                try await withClient(port: port, configuration: ClientConfiguration(connectTimeout: .seconds(2))) {
                    client, _ in
                    let error = await #expect(throws: RPCError.self) {
                        try await EchoClient(wrapping: client).unary(echoRequest("plaintext"))
                    }
                    #expect(error?.code == .unavailable)
                }
            }
        }
    }

    @Test("Unreadable or mismatched files fail at configuration, not on the first connection")
    func badFiles() async throws {
        let (tradeCertificate, tradeKey, logisticsKey) = (
            try await file("trade.crt"), try await file("trade.key"), try await file("logistics.key")
        )
        let (ca, cliCertificate) = (try await file("ca.crt"), try await file("cli.crt"))
        #expect(throws: (any Error).self) {
            try ServerTLS(certificateChainFile: "/nonexistent.crt", privateKeyFile: tradeKey)
        }
        #expect(throws: (any Error).self) {
            try ServerTLS(certificateChainFile: tradeCertificate, privateKeyFile: logisticsKey)
        }
        #expect(throws: (any Error).self) { try ClientTLS(trustRootsFile: ca, certificateChainFile: cliCertificate) }
        #expect(
            try ClientTLS.ifConfigured(
                trustRootsFile: nil, certificateChainFile: nil, privateKeyFile: nil, serverName: nil) == nil)
    }
}
