import Foundation

/// An HTTP answer from curl: status (0 when no answer came), headers by
/// lower-cased name, body.
public struct HTTPAnswer: Sendable {
    public var status: Int
    public var headers: [String: String]
    public var body: String
}

/// Runs curl with `arguments` (a URL, and options such as `-X POST -d …`).
public func curl(_ arguments: [String]) async throws -> HTTPAnswer {
    let result = try await runProgram("/usr/bin/curl", ["-s", "-i", "--max-time", "30"] + arguments)
    let text = result.stdout
    // A 100 Continue (curl sends Expect for large bodies) comes before the answer.
    var rest = Substring(text)
    while rest.hasPrefix("HTTP/1.1 100"), let blank = rest.range(of: "\r\n\r\n") {
        rest = rest[blank.upperBound...]
    }
    guard let split = rest.range(of: "\r\n\r\n") else { return HTTPAnswer(status: 0, headers: [:], body: text) }
    var lines = rest[..<split.lowerBound].split(separator: "\r\n")
    let status = lines.isEmpty ? 0 : Int(lines.removeFirst().split(separator: " ").dropFirst().first ?? "") ?? 0
    var headers: [String: String] = [:]
    for line in lines {
        guard let colon = line.firstIndex(of: ":") else { continue }
        headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
    }
    return HTTPAnswer(status: status, headers: headers, body: String(rest[split.upperBound...]))
}

/// `GET path` on 127.0.0.1:`port`.
public func httpGet(port: Int, path: String) async throws -> HTTPAnswer {
    try await curl(["http://127.0.0.1:\(port)\(path)"])
}

/// The value of the series `name{labels}` in a Prometheus text exposition;
/// nil when absent. The labels must match exactly, in any order.
public func prometheusSample(_ exposition: String, _ name: String, _ labels: [String: String] = [:]) -> Double? {
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
                seriesLabels[String(parts[0])] = String(parts[1]).trimmingCharacters(
                    in: CharacterSet(charactersIn: "\""))
            }
        }
        if seriesName == name, seriesLabels == labels { return value }
    }
    return nil
}
