import ArgumentParser
import CaravanAuth
import CaravanServiceKit
import Foundation

/// `caravan token`: mints a bearer token for the gateway.
struct TokenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Mint a bearer token (HS256 JWT) for the gateway, signed with its key.",
        discussion: """
            Prints the token. Give it to 'caravan call' with --token-file or CARAVAN_TOKEN. The key file \
            is the gateway's --auth-key-file (at least 32 bytes; a trailing newline is ignored). Scopes: \
            \(CaravanScope.read) for reads, \(CaravanScope.write) for writes (docs/SECURITY.md).
            """
    )

    @Option(name: .long, help: "File holding the signing key (env CARAVAN_TOKEN_KEY_FILE).")
    var keyFile: String?

    @Option(name: .long, help: "Who the token names (the 'sub' claim); rate limits count per subject.")
    var subject: String

    @Option(name: .long, help: "Space- or comma-separated scopes.")
    var scope: String = CaravanScope.read

    @Option(name: .long, help: "Lifetime, e.g. 15m, 12h; negative not allowed.")
    var ttl: String = "1h"

    func run() throws {
        guard let path = self.keyFile ?? ProcessInfo.processInfo.environment["CARAVAN_TOKEN_KEY_FILE"] else {
            throw ValidationError("Give the signing key with --key-file or CARAVAN_TOKEN_KEY_FILE.")
        }
        guard let ttl = parseDuration(self.ttl), ttl > .zero else {
            throw ValidationError("--ttl takes a duration such as 15m or 12h; got '\(self.ttl)'.")
        }
        guard !self.subject.isEmpty else { throw ValidationError("--subject must not be empty.") }
        let scopes = self.scope.split(whereSeparator: { $0 == " " || $0 == "," }).map(String.init)
        guard !scopes.isEmpty else { throw ValidationError("--scope must name at least one scope.") }
        let signer: TokenSigner
        do {
            signer = try TokenSigner(keyFile: path)
        } catch {
            throw ValidationError(error.description)
        }
        let now = Int64(Date().timeIntervalSince1970)
        let claims = TokenClaims(
            sub: self.subject, scope: scopes.joined(separator: " "), exp: now + ttl.components.seconds, iat: now)
        Output.printLine(signer.sign(claims))
    }
}
