import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `GET path` on 127.0.0.1:`port` over a plain socket, read on a thread of
/// its own (a blocking read never runs on the cooperative pool).
func httpGet(port: Int, path: String) async throws -> (status: Int, body: String) {
    let response: String = try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread {
            continuation.resume(with: Result { try blockingGet(port: port, path: path) })
        }
    }
    let (head, body) = try #require(response.range(of: "\r\n\r\n").map {
        (String(response[..<$0.lowerBound]), String(response[$0.upperBound...]))
    })
    let statusLine = head.split(separator: "\r\n").first ?? ""
    let status = Int(statusLine.split(separator: " ").dropFirst().first ?? "") ?? 0
    return (status, body)
}

struct SocketFailure: Error { var step: String }

private func blockingGet(port: Int, path: String) throws -> String {
    #if canImport(Glibc)
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    #else
    let fd = socket(AF_INET, SOCK_STREAM, 0)
    #endif
    guard fd >= 0 else { throw SocketFailure(step: "socket") }
    defer { close(fd) }
    var timeout = timeval(tv_sec: 10, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard connected == 0 else { throw SocketFailure(step: "connect") }
    let request = Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8)
    guard write(fd, request, request.count) == request.count else { throw SocketFailure(step: "write") }
    var received: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let count = read(fd, &chunk, chunk.count)
        if count < 0 { throw SocketFailure(step: "read") }
        if count == 0 { break }
        received += chunk[0..<count]
    }
    return String(decoding: received, as: UTF8.self)
}

/// The value of the series `name{labels}` in a Prometheus text exposition;
/// `nil` when absent. Labels must match exactly.
func sample(_ exposition: String, _ name: String, _ labels: [String: String] = [:]) -> Double? {
    for line in exposition.split(separator: "\n") where !line.hasPrefix("#") {
        guard let space = line.lastIndex(of: " ") else { continue }
        let series = line[..<space]
        let value = Double(line[line.index(after: space)...])
        var seriesName = Substring(series)
        var seriesLabels: [String: String] = [:]
        if let brace = series.firstIndex(of: "{") {
            seriesName = series[..<brace]
            let body = series[series.index(after: brace)..<(series.lastIndex(of: "}") ?? series.endIndex)]
            for pair in body.split(separator: ",") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                guard parts.count == 2 else { continue }
                seriesLabels[String(parts[0])] = String(parts[1]).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            }
        }
        if seriesName == name, seriesLabels == labels { return value }
    }
    return nil
}
