import CaravanCLI
import CaravanCore
import CaravanServiceKit
import Foundation
import Testing

@Suite("Load history and keyed retries", .serialized, .timeLimit(.minutes(2)))
struct LoadHistoryTests {
    /// The history file's lines, decoded.
    func entries(_ url: URL) throws -> [[String: Any]] {
        let text = try String(contentsOf: url, encoding: .utf8)
        return try text.split(separator: "\n").map { line in
            try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "\(line)")
        }
    }

    func plan(_ endpoint: Endpoint, method name: String, json: String, keyed: Bool, count: Int) throws -> LoadPlan {
        let method = try #require(SchemaRegistry.method(named: name))
        let request = try SchemaRegistry.encodeJSON(Data(json.utf8), as: method.inputType)
        return LoadPlan(
            endpoint: endpoint, method: method, request: .fixed(request), concurrency: 2, connections: 1,
            stop: .count(count), idempotencyKeys: keyed)
    }

    func temporaryFile() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("caravan-history-\(UUID().uuidString).jsonl")
    }

    @Test("Every call is a line: times, status, the request and the response as JSON")
    func successfulCalls() async throws {
        let file = self.temporaryFile()
        defer { try? FileManager.default.removeItem(at: file) }
        let history = try CallHistory(path: file.path)
        let before = Date().timeIntervalSince1970
        let report = try await withEchoServer { endpoint in
            try await LoadGenerator.run(
                try self.plan(
                    endpoint, method: "caravan.echo.v1.Echo/Unary", json: #"{"text":"Salem"}"#, keyed: false, count: 5),
                history: history)
        }
        #expect(history.close() == nil)
        #expect(report.calls == 5)
        let lines = try self.entries(file)
        #expect(lines.count == 5)
        #expect(Set(lines.compactMap { $0["n"] as? Int }) == Set(0..<5))
        for line in lines {
            #expect(line["status"] as? String == "OK" && line["code"] as? Int == 0)
            #expect(line["method"] as? String == "/caravan.echo.v1.Echo/Unary")
            #expect(line["attempt"] as? Int == 1 && line["sent"] as? Bool == true)
            #expect((line["request"] as? [String: Any])?["text"] as? String == "Salem")
            #expect((line["response"] as? [String: Any])?["text"] as? String == "Salem")
            #expect(line["key"] == nil, "an unkeyed call has no key")
            let start = try #require(line["start"] as? Double)
            let end = try #require(line["end"] as? Double)
            #expect(start >= before - 1 && end >= start && end <= Date().timeIntervalSince1970 + 1)
        }
    }

    @Test("A keyed call failing UNAVAILABLE is sent again under the same key; INVALID_ARGUMENT is not")
    func keyedRetries() async throws {
        let file = self.temporaryFile()
        defer { try? FileManager.default.removeItem(at: file) }
        let history = try CallHistory(path: file.path)
        let reports = try await withEchoServer { endpoint in
            var unavailable = try self.plan(
                endpoint, method: "caravan.echo.v1.Echo/Fail", json: #"{"code":14,"message":"down"}"#, keyed: true,
                count: 2)
            unavailable.retries = 2
            unavailable.retryPause = .milliseconds(1)
            var invalid = try self.plan(
                endpoint, method: "caravan.echo.v1.Echo/Fail", json: #"{"code":3,"message":"bad"}"#, keyed: true,
                count: 1)
            invalid.retries = 2
            return [
                try await LoadGenerator.run(unavailable, history: history),
                try await LoadGenerator.run(invalid, history: history),
            ]
        }
        #expect(history.close() == nil)
        #expect(
            reports[0].calls == 2 && reports[0].statusCodes == ["UNAVAILABLE": 2],
            "a call counts once, however many attempts")
        #expect(reports[1].statusCodes == ["INVALID_ARGUMENT": 1])
        let lines = try self.entries(file)
        let unavailable = lines.filter { $0["status"] as? String == "UNAVAILABLE" }
        let invalid = lines.filter { $0["status"] as? String == "INVALID_ARGUMENT" }
        #expect(unavailable.count == 6, "two calls, three attempts each")
        #expect(invalid.count == 1, "a definite refusal is not retried")
        for (_, attempts) in Dictionary(grouping: unavailable, by: { $0["key"] as? String ?? "" }) {
            #expect(attempts.compactMap { $0["attempt"] as? Int }.sorted() == [1, 2, 3])
            #expect(Set(attempts.compactMap { $0["n"] as? Int }).count == 1, "one call number per key")
        }
        #expect(Set(unavailable.compactMap { $0["key"] as? String }).count == 2)
        #expect(
            unavailable.allSatisfy { ($0["key"] as? String)?.hasPrefix("load-") == true && $0["response"] is NSNull })
    }
}
