import Crypto
import Foundation

/// What a Caravan bearer token says about its holder: a JWT's claims.
public struct TokenClaims: Codable, Sendable, Equatable {
    /// Who holds the token; rate limits count per subject.
    public var sub: String
    /// Space-separated scopes, e.g. `caravan.read caravan.write`.
    public var scope: String
    /// Expiry, in seconds since 1970 (required).
    public var exp: Int64
    /// Issue time, in seconds since 1970.
    public var iat: Int64?
    /// Not valid before, in seconds since 1970.
    public var nbf: Int64?

    public init(sub: String, scope: String, exp: Int64, iat: Int64? = nil, nbf: Int64? = nil) {
        self.sub = sub
        self.scope = scope
        self.exp = exp
        self.iat = iat
        self.nbf = nbf
    }

    /// The scopes, split.
    public var scopes: Set<String> { Set(self.scope.split(separator: " ").map(String.init)) }
}

/// Why a token was refused. Each is UNAUTHENTICATED to the caller.
public enum TokenError: Error, Equatable, CustomStringConvertible {
    case malformed(String)
    case unsupportedAlgorithm(String)
    case badSignature
    case expired
    case notYetValid

    public var description: String {
        switch self {
        case .malformed(let why): return "The token is malformed: \(why)."
        case .unsupportedAlgorithm(let alg): return "The token's algorithm \(alg) is not accepted (only HS256)."
        case .badSignature: return "The token's signature does not match."
        case .expired: return "The token has expired."
        case .notYetValid: return "The token is not valid yet."
        }
    }
}

/// Signs and verifies HS256 JSON Web Tokens (RFC 7519) with one shared key.
///
/// HMAC-SHA256 from swift-crypto (already in the build through
/// swift-nio-ssl's dependencies) rather than jwt-kit: the gateway needs one
/// algorithm, and a verifier this small is easier to audit than a library
/// of them. Only `alg: HS256` is accepted, so `none` and algorithm
/// confusion are refused.
public struct TokenSigner: Sendable {
    private let key: SymmetricKey

    /// Keys shorter than this (bytes) are refused: HS256 wants at least its output size.
    public static let minimumKeySize = 32

    public init(key: [UInt8]) throws(TokenKeyError) {
        guard key.count >= Self.minimumKeySize else {
            throw TokenKeyError(
                description: "The signing key has \(key.count) bytes; at least \(Self.minimumKeySize) are needed.")
        }
        self.key = SymmetricKey(data: key)
    }

    /// Reads a key file: its bytes, without a trailing newline.
    public init(keyFile path: String) throws(TokenKeyError) {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw TokenKeyError(description: "Cannot read the key file \(path): \(error.localizedDescription)")
        }
        try self.init(key: Self.trimmingLineEnd(Array(data)))
    }

    static func trimmingLineEnd(_ bytes: [UInt8]) -> [UInt8] {
        var bytes = bytes
        while let last = bytes.last, last == 0x0A || last == 0x0D { bytes.removeLast() }
        return bytes
    }

    /// `header.payload.signature`, base64url without padding.
    public func sign(_ claims: TokenClaims) -> String {
        let header = Base64URL.encode(Data(#"{"alg":"HS256","typ":"JWT"}"#.utf8))
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        // Encoding these plain fields cannot fail.
        let payload = Base64URL.encode((try? encoder.encode(claims)) ?? Data())
        let signingInput = header + "." + payload
        let mac = HMAC<SHA256>.authenticationCode(for: Data(signingInput.utf8), using: self.key)
        return signingInput + "." + Base64URL.encode(Data(mac))
    }

    /// The claims of a token this key signed, valid at `now`.
    public func verify(_ token: String, now: Date = Date()) throws(TokenError) -> TokenClaims {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3 else { throw .malformed("expected three dot-separated parts") }
        guard let headerData = Base64URL.decode(parts[0]), let payloadData = Base64URL.decode(parts[1]),
            let signature = Base64URL.decode(parts[2])
        else { throw .malformed("a part is not base64url") }
        struct Header: Decodable { var alg: String }
        guard let header = try? JSONDecoder().decode(Header.self, from: headerData) else {
            throw .malformed("the header is not a JSON object with alg")
        }
        // RFC 7515 §4 and RFC 7519 §4: a member named twice must be refused
        // (or the last one read). JSONDecoder reads the first, so a header
        // `{"alg":"HS256","alg":"none"}` passed here as HS256 while any
        // other reader of the token saw `none`, and two `scope`s in the
        // claims granted one thing here and another elsewhere.
        guard !JSONMembers.repeatsAName(headerData) else { throw .malformed("the header names a member twice") }
        guard header.alg == "HS256" else { throw .unsupportedAlgorithm(header.alg) }
        let signingInput = Data("\(parts[0]).\(parts[1])".utf8)
        // Constant-time comparison.
        guard HMAC<SHA256>.isValidAuthenticationCode(signature, authenticating: signingInput, using: self.key) else {
            throw .badSignature
        }
        let claims: TokenClaims
        do {
            claims = try JSONDecoder().decode(TokenClaims.self, from: payloadData)
        } catch {
            throw .malformed("the claims need sub, scope and exp")
        }
        guard !JSONMembers.repeatsAName(payloadData) else { throw .malformed("the claims name a member twice") }
        let seconds = Int64(now.timeIntervalSince1970)
        guard seconds < claims.exp else { throw .expired }
        if let nbf = claims.nbf, seconds < nbf { throw .notYetValid }
        return claims
    }
}

/// A signing key that cannot be used, and why.
public struct TokenKeyError: Error, CustomStringConvertible {
    public var description: String
}

/// The member names of a JSON object, for ``TokenSigner/verify(_:now:)``.
enum JSONMembers {
    /// Whether the object `json` (already decoded, so well-formed) has a
    /// member name twice at its top level, compared after unescaping
    /// (`"alg"` and `"\u0061lg"` are one name).
    static func repeatsAName(_ json: Data) -> Bool {
        let bytes = Array(json)
        var names: Set<String> = []
        var depth = 0
        var expectingName = false
        var index = 0
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
                expectingName = depth == 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
            case UInt8(ascii: ","):
                expectingName = depth == 1
            case UInt8(ascii: "\""):
                let start = index
                index += 1
                while index < bytes.count, bytes[index] != UInt8(ascii: "\"") {
                    index += bytes[index] == UInt8(ascii: "\\") ? 2 : 1
                }
                if expectingName {
                    expectingName = false
                    let name = try? JSONDecoder().decode(
                        String.self, from: Data(bytes[start...min(index, bytes.count - 1)]))
                    if let name, !names.insert(name).inserted { return true }
                }
            default:
                break
            }
            index += 1
        }
        return false
    }
}

/// Base64 with the URL alphabet and no padding (RFC 4648 §5), as JWTs use it.
enum Base64URL {
    static func encode(_ data: Data) -> String {
        data.base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func decode(_ text: Substring) -> Data? {
        guard !text.contains("="), !text.contains("+"), !text.contains("/") else { return nil }
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        switch base64.count % 4 {
        case 0: break
        case 2: base64 += "=="
        case 3: base64 += "="
        default: return nil
        }
        // Only the canonical text of the bytes: Foundation ignores the bits
        // past the last byte, so one signature had several spellings (a
        // token changed in its last character still verified).
        guard let data = Data(base64Encoded: base64), Self.encode(data) == text else { return nil }
        return data
    }
}

/// The scopes the gateway checks.
public enum CaravanScope {
    /// Needed by methods that only read.
    public static let read = "caravan.read"
    /// Needed by methods that change state.
    public static let write = "caravan.write"
}
