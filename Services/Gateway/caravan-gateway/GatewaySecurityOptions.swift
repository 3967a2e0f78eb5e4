import ArgumentParser
import CaravanAuth
import CaravanGateway
import CaravanServiceKit
import CaravanTCP

/// The gateway's security flags (docs/SECURITY.md). Each falls back to
/// `CARAVAN_GATEWAY_<NAME>`; secrets come from files or the environment only.
struct GatewaySecurityOptions: ParsableArguments {
    @OptionGroup var tls: TLSServerOptions
    @OptionGroup var serviceToken: ServiceTokenOptions

    @Option(
        name: .long,
        help:
            "PEM CA the backends' certificates must chain to; turns on TLS to the backends (env CARAVAN_GATEWAY_BACKEND_TLS_CA)."
    )
    var backendTlsCa: String?

    @Option(
        name: .long,
        help:
            "PEM client certificate the gateway presents to the backends, for mutual TLS (env CARAVAN_GATEWAY_BACKEND_TLS_CERT)."
    )
    var backendTlsCert: String?

    @Option(name: .long, help: "PEM private key of --backend-tls-cert (env CARAVAN_GATEWAY_BACKEND_TLS_KEY).")
    var backendTlsKey: String?

    @Option(
        name: .long,
        help:
            "Name every backend certificate must carry, instead of the address connected to (env CARAVAN_GATEWAY_BACKEND_TLS_SERVER_NAME)."
    )
    var backendTlsServerName: String?

    @Option(
        name: .long,
        help:
            "File holding the HS256 key that signs bearer tokens; turns on authentication (env CARAVAN_GATEWAY_AUTH_KEY_FILE, or the key itself in CARAVAN_GATEWAY_AUTH_KEY)."
    )
    var authKeyFile: String?

    @Option(
        name: .long,
        help:
            "Calls per second each caller may make (token subject, or address without auth) (env CARAVAN_GATEWAY_RATE_LIMIT; default: no limit)."
    )
    var rateLimit: Double?

    @Option(
        name: .long,
        help:
            "Calls a caller may make at once before --rate-limit applies (env CARAVAN_GATEWAY_RATE_BURST; default: the rate, at least 1)."
    )
    var rateBurst: Int?

    static let prefix = "CARAVAN_GATEWAY_"

    func apply(to settings: inout GatewaySettings, environment: [String: String]) throws {
        func env(_ name: String) -> String? { environment[Self.prefix + name] }
        settings.server.tls = try self.tls.resolve(prefix: Self.prefix, environment: environment)
        settings.security.serviceToken = try self.serviceToken.resolve(prefix: Self.prefix, environment: environment)

        do {
            settings.client.tls = try ClientTLS.ifConfigured(
                trustRootsFile: self.backendTlsCa ?? env("BACKEND_TLS_CA"),
                certificateChainFile: self.backendTlsCert ?? env("BACKEND_TLS_CERT"),
                privateKeyFile: self.backendTlsKey ?? env("BACKEND_TLS_KEY"),
                serverName: self.backendTlsServerName ?? env("BACKEND_TLS_SERVER_NAME"))
        } catch {
            throw ValidationError("Cannot set up TLS to the backends: \(error)")
        }

        if let secret = try Secret.read(
            file: self.authKeyFile ?? env("AUTH_KEY_FILE"), value: env("AUTH_KEY"), what: "auth key")
        {
            do {
                settings.security.tokenSigner = try TokenSigner(key: Array(secret.utf8))
            } catch {
                throw ValidationError("\(error)")
            }
        }

        let rateText = self.rateLimit.map { "\($0)" } ?? env("RATE_LIMIT")
        let burstText = self.rateBurst.map(String.init) ?? env("RATE_BURST")
        if let rateText {
            guard let rate = Double(rateText), rate > 0, rate.isFinite else {
                throw ValidationError("--rate-limit takes calls per second above 0; got '\(rateText)'.")
            }
            var burst = max(1, Int(rate.rounded(.up)))
            if let burstText {
                guard let value = Int(burstText), value >= 1 else {
                    throw ValidationError("--rate-burst takes a whole number of calls, at least 1; got '\(burstText)'.")
                }
                burst = value
            }
            settings.security.rateLimit = GatewaySecurity.RateLimit(rate: rate, burst: burst)
        } else if burstText != nil {
            throw ValidationError("--rate-burst needs --rate-limit.")
        }
    }
}
