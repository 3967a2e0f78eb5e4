import CaravanCore
import CaravanEchoAPI
import CaravanTCP
import Foundation
import Testing

/// Certificates from deploy/tls/make-dev-certs.sh, made once for the suite:
/// `certs/` and, from another CA, `other/`.
private let certificates: String? = {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("caravan-tls-\(UUID().uuidString)").path
    for set in ["certs", "other"] {
        let process = Process()
        process.executableURL = root.appendingPathComponent("deploy/tls/make-dev-certs.sh")
        process.arguments = [directory + "/" + set, "2"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return nil }
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
    }
    return directory
}()

private func file(_ name: String, set: String = "certs") throws -> String {
    let directory = try #require(certificates, "deploy/tls/make-dev-certs.sh failed (is openssl installed?)")
    return "\(directory)/\(set)/\(name)"
}

@Suite("TLS and mutual TLS on the transport")
struct TLSTests {
    func serverConfiguration(clientCA: String? = nil) throws -> ServerConfiguration {
        var configuration = ServerConfiguration()
        configuration.tls = try ServerTLS(
            certificateChainFile: try file("trade.crt"), privateKeyFile: try file("trade.key"), clientCAFile: clientCA)
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
            try await withServer(configuration: try self.serverConfiguration()) { _, port in
                try await withClient(port: port, configuration: try self.clientConfiguration(ca: try file("ca.crt"))) { client, _ in
                    let echo = EchoClient(wrapping: client)
                    #expect(try await echo.unary(echoRequest("over tls", payload: Array(repeating: 7, count: 100_000))).text == "over tls")
                    let echoed = try await echo.bidiStream(requests: { writer in
                        for word in ["x", "y", "z"] { try await writer.write(echoRequest(word)) }
                    }, onResponse: { stream in
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
            let configuration = try self.serverConfiguration(clientCA: try file("service-client-ca.crt"))
            try await withServer(configuration: configuration) { server, port in
                let admitted = try self.clientConfiguration(
                    ca: try file("ca.crt"), cert: try file("gateway-client.crt"), key: try file("gateway-client.key"))
                try await withClient(port: port, configuration: admitted) { client, _ in
                    let answer = try await EchoClient(wrapping: client).unary(echoRequest("admitted"))
                    #expect(answer.text == "admitted")
                }
                let refused: [(String, ClientConfiguration)] = [
                    ("no certificate", try self.clientConfiguration(ca: try file("ca.crt"))),
                    ("signed by the other CA of the set", try self.clientConfiguration(
                        ca: try file("ca.crt"), cert: try file("cli.crt"), key: try file("cli.key"))),
                    ("from another CA", try self.clientConfiguration(
                        ca: try file("ca.crt"), cert: try file("gateway-client.crt", set: "other"),
                        key: try file("gateway-client.key", set: "other"))),
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

    @Test("A client refuses a server whose certificate another CA signed, and plaintext meets a TLS server with nothing")
    func wrongCAAndPlaintext() async throws {
        try await withTimeLimit {
            try await withServer(configuration: try self.serverConfiguration()) { _, port in
                let otherCA = try self.clientConfiguration(ca: try file("ca.crt", set: "other"))
                try await withClient(port: port, configuration: otherCA) { client, _ in
                    let error = await #expect(throws: RPCError.self) {
                        try await EchoClient(wrapping: client).unary(echoRequest("spoofed"))
                    }
                    #expect(error?.code == .unavailable)
                    #expect(error?.message.contains("CERTIFICATE_VERIFY_FAILED") == true, "\(String(describing: error))")
                }
                try await withClient(port: port, configuration: ClientConfiguration(connectTimeout: .seconds(2))) { client, _ in
                    let error = await #expect(throws: RPCError.self) {
                        try await EchoClient(wrapping: client).unary(echoRequest("plaintext"))
                    }
                    #expect(error?.code == .unavailable)
                }
            }
        }
    }

    @Test("Unreadable or mismatched files fail at configuration, not on the first connection")
    func badFiles() throws {
        #expect(throws: (any Error).self) {
            try ServerTLS(certificateChainFile: "/nonexistent.crt", privateKeyFile: try file("trade.key"))
        }
        #expect(throws: (any Error).self) {
            try ServerTLS(certificateChainFile: try file("trade.crt"), privateKeyFile: try file("logistics.key"))
        }
        #expect(throws: (any Error).self) { try ClientTLS(trustRootsFile: try file("ca.crt"), certificateChainFile: try file("cli.crt")) }
        #expect(try ClientTLS.ifConfigured(trustRootsFile: nil, certificateChainFile: nil, privateKeyFile: nil, serverName: nil) == nil)
    }
}
