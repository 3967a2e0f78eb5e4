import CaravanCore
import CaravanEcho
import CaravanEchoAPI
import CaravanGateway
import CaravanGatewayHTTP
import CaravanHealthAPI
import CaravanLogisticsAPI
import CaravanServer
import CaravanTradeAPI
import Foundation
import Logging
import Synchronization
import Testing

@testable import CaravanGatewayHTTP

/// A server-streaming handler the test scripts, routed as Echo/ServerStream
/// (so its messages are `EchoResponse`s): it reports its start, its
/// context and its end, and runs `script`.
final class ScriptedStream: Sendable {
    let started: AsyncStream<ServerContext>
    private let startedInput: AsyncStream<ServerContext>.Continuation
    /// Yields the error the handler ended with (CancellationError when cancelled).
    let ended: AsyncStream<String>
    private let endedInput: AsyncStream<String>.Continuation
    private let script: @Sendable (RPCWriter<EchoResponse>) async throws -> Void

    init(_ script: @escaping @Sendable (RPCWriter<EchoResponse>) async throws -> Void) {
        (self.started, self.startedInput) = AsyncStream.makeStream()
        (self.ended, self.endedInput) = AsyncStream.makeStream()
        self.script = script
    }

    /// Echo's routes, with ServerStream running the script.
    var router: RPCRouter {
        var router = RPCRouter()
        router.register(EchoService())
        router.register(
            Echo.Method.serverStream,
            handler: .serverStreaming { _, writer, context in
                self.startedInput.yield(context)
                do {
                    try await self.script(RPCWriter(raw: writer))
                    self.endedInput.yield("ok")
                } catch {
                    self.endedInput.yield(error is CancellationError ? "cancelled" : "\(error)")
                    throw error
                }
            })
        return router
    }

    static func message(_ text: String) -> EchoResponse { EchoResponse(text: text) }
}

private let streamPath = "/v1/caravan.echo.v1.Echo/ServerStream"

@Suite("HTTP door: server-streaming methods", .timeLimit(.minutes(2)))
struct HTTPStreamingTests {
    @Test("Server-sent events: a message event per message, then the status; the trace id header")
    func serverSentEvents() async throws {
        var router = RPCRouter()
        router.register(EchoService())
        let answer = try await withHTTPDoor(router: router) { base in
            try await curl([
                "-X", "POST", "-H", "Accept: text/event-stream", "--data", #"{"count":3,"payload":"AQI="}"#,
                base + streamPath,
            ])
        }
        #expect(answer.status == 200)
        #expect(answer.headers["content-type"]?.hasPrefix("text/event-stream") == true)
        #expect(answer.headers["x-trace-id"]?.count == 32)
        let expected =
            (0..<3).map { "event: message\ndata: {\"payload\":\"AQI=\",\"text\":\"\($0)\"}\n\n" }.joined()
            + "event: status\ndata: {\"code\":0,\"message\":\"\",\"details\":[]}\n\n"
        #expect(answer.body == expected)
    }

    @Test("JSON lines from GET with query parameters; nothing after the last message when it ended OK")
    func jsonLinesFromQuery() async throws {
        var router = RPCRouter()
        router.register(EchoService())
        let answer = try await withHTTPDoor(router: router) { base in
            try await curl([base + streamPath + "?count=2&payload=AQI%3D&intervalMillis=1"])
        }
        #expect(answer.status == 200)
        #expect(answer.headers["content-type"] == "application/x-ndjson")
        #expect(
            answer.body == #"{"result":{"payload":"AQI=","text":"0"}}"# + "\n"
                + #"{"result":{"payload":"AQI=","text":"1"}}"# + "\n")
    }

    @Test("An error before the first message is an ordinary JSON error with its HTTP status")
    func errorBeforeFirstMessage() async throws {
        var router = RPCRouter()
        router.register(EchoService())
        try await withHTTPDoor(router: router) { base in
            // Refused by the handler (more than EchoService allows).
            let refused = try await curl(["-H", "Accept: text/event-stream", base + streamPath + "?count=200000"])
            #expect(refused.status == 400 && refused.headers["content-type"] == "application/json")
            #expect(refused.json["code"] as? Int == 3)
            #expect(refused.headers["x-trace-id"]?.count == 32)
            // Refused by the door: a parameter no field takes, a value of the wrong form.
            let unknown = try await curl([base + streamPath + "?count=1&colour=red"])
            #expect(unknown.status == 400 && (unknown.json["message"] as? String)?.contains("colour") == true)
            let malformed = try await curl([base + streamPath + "?count=many"])
            #expect(malformed.status == 400 && (malformed.json["message"] as? String)?.contains("count") == true)
            let body = try await curl(["-X", "POST", "--data", "[1]", base + streamPath])
            #expect(body.status == 400)
            // A unary method is not served by GET; an unknown method is not served at all.
            let unary = try await curl([base + "/v1/caravan.echo.v1.Echo/Unary"])
            #expect(unary.status == 405 && unary.headers["allow"] == "POST")
            #expect(try await curl([base + "/v1/caravan.echo.v1.Echo/Nothing"]).status == 501)
            #expect(try await curl([base + "/v1/caravan.echo.v1.Echo/BidiStream"]).status == 405)
        }
    }

    @Test("A timeout header that is not a duration, or past 292 years, is 400 (it used to be ignored, or trap)")
    func malformedTimeout() async throws {
        var router = RPCRouter()
        router.register(EchoService())
        try await withHTTPDoor(router: router) { base in
            for value in ["soon", "99999999999999h", "-1s"] {
                for arguments in [
                    ["-X", "POST", "--data", "{}", base + "/v1/caravan.echo.v1.Echo/Unary"],
                    [base + streamPath + "?count=1"],
                ] {
                    let answer = try await curl(["-H", "X-Caravan-Timeout: \(value)"] + arguments)
                    #expect(answer.status == 400, "\(value) \(arguments)")
                    #expect((answer.json["message"] as? String)?.contains("X-Caravan-Timeout") == true)
                }
            }
        }
    }

    @Test("A failure after the first message ends the stream with its status, in both framings")
    func errorAfterFirstMessage() async throws {
        let stream = ScriptedStream { writer in
            try await writer.write(ScriptedStream.message("first"))
            throw RPCError(code: .notFound, message: "gone \"away\"")
        }
        try await withHTTPDoor(router: stream.router) { base in
            let events = try await curl(["-H", "Accept: text/event-stream", base + streamPath])
            #expect(events.status == 200)
            #expect(
                events.body
                    == "event: message\ndata: {\"text\":\"first\"}\n\n"
                    + "event: status\ndata: {\"code\":5,\"message\":\"gone \\\"away\\\"\",\"details\":[]}\n\n")
            let lines = try await curl([base + streamPath])
            #expect(
                lines.body == #"{"result":{"text":"first"}}"# + "\n"
                    + #"{"error":{"code":5,"message":"gone \"away\"","details":[]}}"# + "\n")
        }
    }

    @Test("No default deadline; X-Caravan-Timeout sets one and ends the stream DEADLINE_EXCEEDED")
    func deadlines() async throws {
        let stream = ScriptedStream { writer in
            try await writer.write(ScriptedStream.message("waiting"))
            try await Task.sleep(for: .seconds(600))
        }
        try await withHTTPDoor(router: stream.router) { base in
            let answer = try await curl([
                "-H", "Accept: text/event-stream", "-H", "X-Caravan-Timeout: 3s", base + streamPath,
            ])
            #expect(
                answer.body.hasSuffix(
                    "event: status\ndata: {\"code\":4,\"message\":\"The deadline passed before the stream ended.\",\"details\":[]}\n\n"
                ))
            var started = stream.started.makeAsyncIterator()
            let limited = await started.next()
            #expect(limited?.deadline != nil)
            #expect(await stream.ended.first { _ in true } == "cancelled")

            let open = try CurlSession(["-H", "Accept: text/event-stream", base + streamPath])
            let unlimited = await started.next()
            #expect(unlimited != nil && unlimited?.deadline == nil)
            open.close()
        }
    }

    @Test("The client closing the connection cancels the call")
    func clientGoneCancels() async throws {
        let stream = ScriptedStream { writer in
            try await writer.write(ScriptedStream.message("one"))
            try await Task.sleep(for: .seconds(600))
        }
        try await withHTTPDoor(router: stream.router) { base in
            let session = try CurlSession(["-H", "Accept: text/event-stream", base + streamPath])
            #expect(await session.waitFor("\"text\":\"one\""))
            session.close()
            #expect(await stream.ended.first { _ in true } == "cancelled")
        }
    }

    @Test("A POST stream whose client goes away is cancelled at its next write, and the door keeps serving")
    func postClientGone() async throws {
        let stream = ScriptedStream { writer in
            try await writer.write(ScriptedStream.message("one"))
            try await Task.sleep(for: .seconds(600))
        }
        var streaming = HTTPStreamingConfiguration()
        streaming.keepaliveInterval = .milliseconds(50)
        try await withHTTPDoor(router: stream.router, streaming: streaming) { base in
            let session = try CurlSession([
                "-X", "POST", "-H", "Accept: text/event-stream", "--data", "{}", base + streamPath,
            ])
            #expect(await session.waitFor("\"text\":\"one\""))
            session.close()
            #expect(await stream.ended.first { _ in true } == "cancelled")
            #expect(try await curl([base + "/openapi.json"]).status == 200)
        }
    }

    @Test("An idle event stream gets keepalive comments; the head is sent when nothing came within openAfter")
    func keepalive() async throws {
        let stream = ScriptedStream { _ in try await Task.sleep(for: .seconds(600)) }
        var streaming = HTTPStreamingConfiguration()
        streaming.keepaliveInterval = .milliseconds(100)
        streaming.openAfter = .milliseconds(50)
        try await withHTTPDoor(router: stream.router, streaming: streaming) { base in
            let session = try CurlSession(["-H", "Accept: text/event-stream", base + streamPath])
            #expect(await session.waitFor(": keepalive\n\n: keepalive\n\n"))
            #expect(CurlAnswer(session.text).status == 200)
            session.close()
            #expect(await stream.ended.first { _ in true } == "cancelled")
        }
    }

    @Test("Any routed stream is served: the gateway's own Health/Watch by GET")
    func healthWatch() async throws {
        let application = GatewayApplication(settings: GatewaySettings(), logger: .init(label: "test"))
        try await withHTTPDoor(router: application.server.router) { base in
            let session = try CurlSession([
                "-H", "Accept: text/event-stream",
                base + "/v1/caravan.health.v1.Health/Watch?service=caravan.gateway.v1.Gateway",
            ])
            #expect(await session.waitFor("event: message\ndata: {\"status\":\"SERVING\"}\n\n"))
            session.close()
        }
    }

    @Test("A client that reads too slowly ends the call RESOURCE_EXHAUSTED after the buffered messages")
    func slowReader() async throws {
        let call = HTTPStreamingCall(maxBufferedMessages: 2)
        var router = RPCRouter()
        router.register(EchoService())
        let handler: @Sendable ([UInt8], RawMessageWriter, ServerContext) async throws -> Void = { _, writer, _ in
            for text in ["a", "b", "c"] {
                try await RPCWriter<EchoResponse>(raw: writer).write(EchoResponse(text: text))
            }
        }
        await call.run(
            router: router, handler: handler, request: [], context: ServerContext(descriptor: Echo.Method.serverStream),
            keepaliveInterval: .seconds(60))
        var texts: [String] = []
        for await event in call.events {
            if case .message(let bytes) = event { texts.append(try EchoResponse(serializedBytes: bytes).text) }
        }
        #expect(texts == ["a", "b"])
        #expect(call.ending?.code == .resourceExhausted)
    }

    @Test("The framings, byte for byte")
    func framings() {
        let json = Data(#"{"a":1}"#.utf8)
        #expect(HTTPStreamFraming(accept: "text/html, text/event-stream;q=0.9") == .serverSentEvents)
        #expect(HTTPStreamFraming(accept: "application/json") == .jsonLines)
        #expect(HTTPStreamFraming(accept: nil) == .jsonLines)
        #expect(
            String(decoding: HTTPStreamFraming.serverSentEvents.message(json), as: UTF8.self)
                == "event: message\ndata: {\"a\":1}\n\n")
        #expect(
            String(decoding: HTTPStreamFraming.jsonLines.message(json), as: UTF8.self) == "{\"result\":{\"a\":1}}\n")
        #expect(HTTPStreamFraming.jsonLines.end(nil).isEmpty)
        #expect(HTTPStreamFraming.jsonLines.keepalive == nil)
        let failed = HTTPStreamFraming.jsonLines.end(RPCError(code: .aborted, message: "x"))
        #expect(
            String(decoding: failed, as: UTF8.self) == "{\"error\":{\"code\":10,\"message\":\"x\",\"details\":[]}}\n")
    }
}

@Suite("HTTP door: query parameters as a request")
struct QueryParameterTests {
    @Test("Dotted names for nested fields, enums by name or number, integers, and proto names")
    func nested() throws {
        let request = try QueryParameterDecoder.decode(
            StreamFlowsRequest.self,
            from: [
                ("filter.yearFrom", "2020"), ("filter.year_to", "2024"), ("filter.country", "KZ"),
                ("filter.direction", "DIRECTION_EXPORT"),
            ])
        #expect(
            request.filter == TradeFlowFilter(yearFrom: 2020, yearTo: 2024, country: "KZ", direction: .directionExport))
        let byNumber = try QueryParameterDecoder.decode(StreamFlowsRequest.self, from: [("filter.direction", "2")])
        #expect(byNumber.filter?.direction == .directionImport)
        #expect(try QueryParameterDecoder.decode(StreamFlowsRequest.self, from: []) == StreamFlowsRequest())
    }

    @Test(
        "Unknown names, repeated singular fields, malformed values and a message given a value are refused, naming the parameter"
    )
    func refused() {
        let cases: [([(String, String)], String)] = [
            ([("filter.colour", "red")], "filter.colour"),
            ([("filter.yearFrom", "2020"), ("filter.yearFrom", "2021")], "filter.yearFrom"),
            ([("filter.yearFrom", "soon")], "filter.yearFrom"),
            ([("filter.direction", "SIDEWAYS")], "SIDEWAYS"),
            ([("filter", "x")], "filter"),
        ]
        for (parameters, named) in cases {
            do {
                _ = try QueryParameterDecoder.decode(StreamFlowsRequest.self, from: parameters)
                Issue.record("\(parameters) was accepted")
            } catch {
                #expect("\(error)".contains(named), "\(error)")
            }
        }
    }

    @Test("Booleans and 64-bit integers as the field's type reads them")
    func scalars() throws {
        let watch = try QueryParameterDecoder.decode(
            WatchShipmentRequest.self, from: [("id", "s-1"), ("afterSequence", "18446744073709551615")])
        #expect(watch.id == "s-1" && watch.afterSequence == .max)
        let health = try QueryParameterDecoder.decode(HealthCheckRequest.self, from: [("service", "true")])
        #expect(health.service == "true")
        let categories = try QueryParameterDecoder.decode(
            ListCargoCategoriesRequest.self, from: [("highValueOnly", "true")])
        #expect(categories.highValueOnly)
        #expect(throws: QueryParameterError.self) {
            try QueryParameterDecoder.decode(ListCargoCategoriesRequest.self, from: [("highValueOnly", "yes")])
        }
    }
}
