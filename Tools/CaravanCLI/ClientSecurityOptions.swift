import ArgumentParser
import CaravanCore
import CaravanServiceKit
import CaravanTCP
import Foundation

/// How a `caravan` command proves itself to a server: TLS (trusting a CA,
/// optionally presenting a client certificate) and a bearer token for the
/// gateway. Each flag falls back to a `CARAVAN_…` variable; the token comes
/// from a file or the environment, never from a flag's value.
struct ClientSecurityOptions: ParsableArguments {
    @Option(name: .long, help: "PEM CA to trust; turns on TLS (env CARAVAN_TLS_CA).")
    var tlsCa: String?

    @Option(name: .long, help: "PEM client certificate, for servers requiring mutual TLS (env CARAVAN_TLS_CERT).")
    var tlsCert: String?

    @Option(name: .long, help: "PEM private key of --tls-cert (env CARAVAN_TLS_KEY).")
    var tlsKey: String?

    @Option(
        name: .long,
        help: "Name the server's certificate must carry, when not the host connected to (env CARAVAN_TLS_SERVER_NAME).")
    var tlsServerName: String?

    @Option(
        name: .long,
        help:
            "File holding a bearer token, sent as 'authorization: Bearer …' (env CARAVAN_TOKEN_FILE, or the token itself in CARAVAN_TOKEN)."
    )
    var tokenFile: String?

    init() {}

    /// `base` with TLS when any TLS option is given.
    func clientConfiguration(
        _ base: ClientConfiguration = .defaults,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> ClientConfiguration {
        try Self.clientConfiguration(
            base, ca: self.tlsCa, cert: self.tlsCert, key: self.tlsKey, serverName: self.tlsServerName,
            environment: environment)
    }

    /// `base` with TLS from the given files, else from CARAVAN_TLS_*; unchanged when neither names any.
    static func clientConfiguration(
        _ base: ClientConfiguration,
        ca: String? = nil, cert: String? = nil, key: String? = nil, serverName: String? = nil,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> ClientConfiguration {
        var configuration = base
        do {
            configuration.tls = try ClientTLS.ifConfigured(
                trustRootsFile: ca ?? environment["CARAVAN_TLS_CA"],
                certificateChainFile: cert ?? environment["CARAVAN_TLS_CERT"],
                privateKeyFile: key ?? environment["CARAVAN_TLS_KEY"],
                serverName: serverName ?? environment["CARAVAN_TLS_SERVER_NAME"])
        } catch {
            throw ValidationError("Cannot set up TLS: \(error)")
        }
        return configuration
    }

    /// `options` with the bearer token, when one is given.
    func authorize(
        _ options: CallOptions,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> CallOptions {
        var options = options
        if let token = try Self.bearerToken(file: self.tokenFile, environment: environment) {
            options.metadata.replaceOrAddString("Bearer " + token, forKey: "authorization")
        }
        return options
    }

    /// The token in `file`, else in the file named by CARAVAN_TOKEN_FILE, else CARAVAN_TOKEN.
    static func bearerToken(file: String?, environment: [String: String]) throws -> String? {
        try Secret.read(
            file: file ?? environment["CARAVAN_TOKEN_FILE"], value: environment["CARAVAN_TOKEN"], what: "token")
    }
}
