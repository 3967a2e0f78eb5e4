import ArgumentParser
import CaravanTCP
import Foundation

/// TLS for a server's listener. Each flag falls back to the variable
/// `<PREFIX>TLS_CERT`, `<PREFIX>TLS_KEY`, `<PREFIX>TLS_CLIENT_CA`
/// (the prefix is e.g. `CARAVAN_TRADE_`); with neither, the server speaks
/// plaintext.
public struct TLSServerOptions: ParsableArguments {
    @Option(
        name: .long, help: "PEM certificate chain to serve TLS with (env CARAVAN_<SERVICE>_TLS_CERT); needs --tls-key.")
    public var tlsCert: String?

    @Option(name: .long, help: "PEM private key of --tls-cert (env CARAVAN_<SERVICE>_TLS_KEY).")
    public var tlsKey: String?

    @Option(
        name: .long,
        help: "PEM CA: require client certificates it signed, i.e. mutual TLS (env CARAVAN_<SERVICE>_TLS_CLIENT_CA).")
    public var tlsClientCa: String?

    public init() {}

    /// The listener's TLS, or nil for plaintext.
    public func resolve(prefix: String, environment: [String: String]) throws -> ServerTLS? {
        let cert = self.tlsCert ?? environment[prefix + "TLS_CERT"]
        let key = self.tlsKey ?? environment[prefix + "TLS_KEY"]
        let clientCA = self.tlsClientCa ?? environment[prefix + "TLS_CLIENT_CA"]
        switch (cert, key) {
        case (nil, nil):
            guard clientCA == nil else { throw ValidationError("--tls-client-ca needs --tls-cert and --tls-key.") }
            return nil
        case (let cert?, let key?):
            do {
                return try ServerTLS(certificateChainFile: cert, privateKeyFile: key, clientCAFile: clientCA)
            } catch {
                throw ValidationError(
                    "Cannot load TLS (certificate \(cert), key \(key)\(clientCA.map { ", client CA \($0)" } ?? "")): \(error)"
                )
            }
        default:
            throw ValidationError("--tls-cert and --tls-key go together.")
        }
    }
}

/// The secret shared by the gateway and the services. A service given one
/// refuses every call without it (but health); the gateway adds it to every
/// call it makes. Read from a file or the environment, never from a flag's
/// value: command lines are visible to every user of the machine.
public struct ServiceTokenOptions: ParsableArguments {
    @Option(
        name: .long,
        help:
            "File holding the shared service token (env CARAVAN_<SERVICE>_SERVICE_TOKEN_FILE, or the token itself in CARAVAN_<SERVICE>_SERVICE_TOKEN)."
    )
    public var serviceTokenFile: String?

    public init() {}

    /// The token, or nil when none is configured.
    public func resolve(prefix: String, environment: [String: String]) throws -> String? {
        try Secret.read(
            file: self.serviceTokenFile ?? environment[prefix + "SERVICE_TOKEN_FILE"],
            value: environment[prefix + "SERVICE_TOKEN"], what: "service token")
    }
}

/// Reading secrets from files or the environment.
public enum Secret {
    /// The secret in `file` (without its trailing line end), else `value`;
    /// nil when neither is given. An empty secret is an error, not "off".
    public static func read(file: String?, value: String?, what: String) throws -> String? {
        let text: String
        if let file {
            do {
                text = try String(contentsOfFile: file, encoding: .utf8)
            } catch {
                throw ValidationError("Cannot read the \(what) file \(file): \(error.localizedDescription)")
            }
        } else if let value {
            text = value
        } else {
            return nil
        }
        let secret = text.trimmingCharacters(in: .newlines)
        guard !secret.isEmpty else { throw ValidationError("The \(what) is empty.") }
        return secret
    }
}
