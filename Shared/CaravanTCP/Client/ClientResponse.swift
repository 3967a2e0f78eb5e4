import CaravanCore
import CaravanEnvelope
import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Hands a RESPONSE frame to the call it ends.
enum ClientResponse {
    static func complete(_ sink: ClientCall.Sink, with frame: Frame) {
        let error: RPCError?
        if frame.header.readableBytes == 0 {
            error = nil
        } else {
            do {
                error = FrameHeaders.error(from: try FrameHeaders.decode(ResponseHeader.self, from: frame.header))
            } catch {
                Self.fail(sink, RPCError(code: .internal, message: "Malformed response header: \(error)"))
                return
            }
        }
        switch sink {
        case .unary(let continuation):
            if let error {
                continuation.resume(throwing: error)
            } else if frame.flags.contains(.hasMessage) {
                continuation.resume(returning: Array(frame.payload.readableBytesView))
            } else {
                continuation.resume(throwing: RPCError(code: .internal, message: "The server sent no response message."))
            }
        case .stream(let continuation):
            if frame.flags.contains(.hasMessage) {
                continuation.yield(Array(frame.payload.readableBytesView))
            }
            if let error { continuation.finish(throwing: error) } else { continuation.finish() }
        }
    }

    private static func fail(_ sink: ClientCall.Sink, _ error: RPCError) {
        switch sink {
        case .unary(let continuation): continuation.resume(throwing: error)
        case .stream(let continuation): continuation.finish(throwing: error)
        }
    }
}

/// A client connection ended for a reason of its own.
struct ClientConnectionError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Connection failures in plain words, as grpcurl says them ("connection
/// refused"), not the networking library's debug text.
public enum ConnectionErrorDescription {
    public static func describe(_ error: any Error) -> String {
        switch error {
        case let error as NIOConnectionError:
            if let first = error.connectionErrors.first { return Self.describe(first.error) }
            if error.dnsAError != nil || error.dnsAAAAError != nil { return "no such host" }
            return "no address to connect to"
        case let error as IOError:
            return Self.describe(errno: error.errnoCode) ?? "\(error)"
        case let error as ChannelError:
            switch error {
            case .connectTimeout(let amount): return "connection timed out after \(amount.nanoseconds / 1_000_000) ms"
            case .ioOnClosedChannel, .alreadyClosed, .eof, .outputClosed, .inputClosed: return "the connection was closed"
            default: return "\(error)"
            }
        case let error as SocketAddressError:
            if case .unknown(let host, _) = error { return "no such host \"\(host)\"" }
            return "\(error)"
        case let error as ClientConnectionError:
            return error.description
        default:
            return "\(error)"
        }
    }

    private static func describe(errno: Int32) -> String? {
        switch errno {
        case ECONNREFUSED: return "connection refused"
        case ECONNRESET: return "connection reset by peer"
        case ETIMEDOUT: return "connection timed out"
        case EHOSTUNREACH: return "no route to host"
        case ENETUNREACH: return "network is unreachable"
        case EPIPE: return "the server closed the connection"
        case EADDRNOTAVAIL: return "address not available"
        default: return nil
        }
    }
}
