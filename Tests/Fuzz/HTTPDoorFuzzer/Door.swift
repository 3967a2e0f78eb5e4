import CaravanAuth
import CaravanCore
import CaravanGateway
import CaravanGatewayAPI
import CaravanHealthAPI
import CaravanLogisticsAPI
import CaravanReflectionAPI
import CaravanTradeAPI
import CaravanTrainingAPI
import Crypto
import Foundation

/// The gateway as the fuzzer sets it up: what it routes, its key, its clock.
enum Door {
    /// Every service the gateway routes (echo and testing are not).
    static let services: [ServiceSchema] =
        CaravanTradeAPISchemas.services + CaravanLogisticsAPISchemas.services
        + CaravanTrainingAPISchemas.services + CaravanGatewayAPISchemas.services
        + CaravanHealthAPISchemas.services + CaravanReflectionAPISchemas.services

    /// Each routed method's request type once: what a query can be read as.
    static let requestTypes: [any ProtoMessage.Type] = {
        var seen: Set<String> = []
        return Door.services.flatMap(\.methods).map(\.inputType).filter {
            seen.insert($0.protoMessageName).inserted
        }
    }()

    static func requestType(selectedBy byte: UInt8) -> any ProtoMessage.Type {
        Self.requestTypes[Int(byte) % Self.requestTypes.count]
    }

    static let keyBytes = Array("caravan-fuzz-signing-key-of-32-bytes!".utf8)
    static let key = SymmetricKey(data: Door.keyBytes)
    // The key is long enough; a failure here is a broken fuzzer, not an input.
    static let signer = try! TokenSigner(key: Door.keyBytes)

    /// A fixed clock, so that the seeds' tokens stay valid and a run repeats.
    static let now = Date(timeIntervalSince1970: 1_800_000_000)
    static let authorizer = GatewayAuthInterceptor(signer: Door.signer, now: { Door.now })

    /// `header.payload.signature` over the given JSON texts, signed with the
    /// gateway's key: what only a holder of the key can make.
    static func token(header: [UInt8], payload: [UInt8]) -> String {
        let signingInput = Base64URL.encode(header) + "." + Base64URL.encode(payload)
        let mac = HMAC<SHA256>.authenticationCode(for: Data(signingInput.utf8), using: Self.key)
        return signingInput + "." + Base64URL.encode(Array(mac))
    }
}

/// Base64url without padding (RFC 4648 §5), written here rather than taken
/// from CaravanAuth so that the checks do not trust the code they check.
enum Base64URL {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        var index = 0
        while index < bytes.count {
            let chunk = Array(bytes[index..<min(index + 3, bytes.count)])
            let value = chunk.enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (16 - 8 * UInt32($1.offset)) }
            for position in 0...chunk.count {
                out.append(Self.alphabet[Int((value >> (18 - 6 * UInt32(position))) & 63)])
            }
            index += 3
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The bytes of canonical base64url text: every character in the
    /// alphabet, and the bits past the last byte zero.
    static func decodeCanonical(_ text: Substring) -> [UInt8]? {
        var bits: UInt32 = 0
        var count = 0
        var out: [UInt8] = []
        for byte in text.utf8 {
            guard let value = Self.alphabet.firstIndex(of: byte) else { return nil }
            bits = bits << 6 | UInt32(value)
            count += 6
            if count >= 8 {
                count -= 8
                out.append(UInt8((bits >> UInt32(count)) & 0xFF))
            }
        }
        guard count < 6, bits & ((1 << UInt32(count)) - 1) == 0 else { return nil }
        return out
    }
}
