import CaravanCore
import CaravanServiceKit
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Turns configured addresses into replica endpoints: an IP literal is one
/// replica; a name is looked up and each address it resolves to is one
/// (as a Kubernetes headless service hands out one per pod).
public enum AddressResolver {
    /// Whether `host` is an IPv4 or IPv6 literal, which needs no lookup.
    public static func isIPLiteral(_ host: String) -> Bool {
        // A raw 16-byte buffer (room for either address) rather than in_addr()
        // and in6_addr(): release builds attribute those C types to NIO's
        // internal CNIOLinux module, whose initialisers are then not visible.
        withUnsafeTemporaryAllocation(byteCount: 16, alignment: 8) { buffer in
            inet_pton(AF_INET, host, buffer.baseAddress) == 1 || inet_pton(AF_INET6, host, buffer.baseAddress) == 1
        }
    }

    /// Resolves every configured address; a name that does not resolve
    /// contributes nothing this round (it is tried again next round).
    public static func resolve(_ configured: [Endpoint]) async -> [Endpoint] {
        var endpoints: [Endpoint] = []
        for endpoint in configured {
            if self.isIPLiteral(endpoint.host) {
                endpoints.append(endpoint)
            } else {
                endpoints += await self.lookUp(endpoint)
            }
        }
        return endpoints
    }

    /// getaddrinfo blocks, so it runs on a thread of its own rather than
    /// holding one of the cooperative pool's few threads.
    static func lookUp(_ endpoint: Endpoint) async -> [Endpoint] {
        await withCheckedContinuation { continuation in
            let thread = Thread {
                continuation.resume(returning: self.lookUpBlocking(endpoint))
            }
            thread.start()
        }
    }

    static func lookUpBlocking(_ endpoint: Endpoint) -> [Endpoint] {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Darwin)
        hints.ai_socktype = SOCK_STREAM
        #else
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #endif
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(endpoint.host, String(endpoint.port), &hints, &result) == 0, let first = result else { return [] }
        defer { freeaddrinfo(first) }
        var found: [Endpoint] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let info = cursor {
            var buffer = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            if getnameinfo(
                info.pointee.ai_addr, info.pointee.ai_addrlen, &buffer, socklen_t(buffer.count), nil, 0, NI_NUMERICHOST) == 0
            {
                let host = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                let resolved = Endpoint(host: host, port: endpoint.port)
                if !found.contains(resolved) { found.append(resolved) }
            }
            cursor = info.pointee.ai_next
        }
        return found
    }
}
