import CaravanCore
import CaravanEchoAPI
import CaravanEnvelope
import CaravanGatewayAPI
import CaravanHealthAPI
import CaravanLogisticsAPI
import CaravanMessages
import CaravanReflectionAPI
import CaravanTestingAPI
import CaravanTradeAPI
import CaravanTrainingAPI
import Testing

/// The generated service code: schemas, registries, server protocols and
/// clients, exercised through a router and a loopback transport.
@Suite struct ServiceStubTests {
    @Test func echoSchema() throws {
        let schema = Echo.schema
        #expect(schema.name == "caravan.echo.v1.Echo")
        #expect(schema.file == "caravan/echo/v1/echo.proto")
        #expect(schema.methods.map(\.descriptor.method) == ["Unary", "ServerStream", "ClientStream", "BidiStream", "Sleep", "Fail"])
        #expect(schema.methods.map(\.kind) == [.unary, .serverStreaming, .clientStreaming, .bidirectionalStreaming, .unary, .unary])
        #expect(schema.methods[1].inputType.protoMessageName == "caravan.echo.v1.StreamRequest")
        #expect(schema.methods[1].outputType.protoMessageName == "caravan.echo.v1.EchoResponse")
        #expect(Echo.Method.serverStream.path == "/caravan.echo.v1.Echo/ServerStream")
        // A serialized FileDescriptorProto starts with field 1, the file name.
        let descriptor = try #require(schema.fileDescriptorProtos.first)
        let name = Array("caravan/echo/v1/echo.proto".utf8)
        #expect(Array(descriptor.prefix(2 + name.count)) == [0x0A, UInt8(name.count)] + name)
        // Without source info: no comments in it.
        #expect(!descriptor.containsSequence(Array("Returns its request.".utf8)))
    }

    @Test func registries() {
        let services = CaravanEchoAPISchemas.services + CaravanHealthAPISchemas.services
            + CaravanReflectionAPISchemas.services + CaravanTradeAPISchemas.services
            + CaravanLogisticsAPISchemas.services + CaravanTrainingAPISchemas.services
            + CaravanGatewayAPISchemas.services + CaravanTestingAPISchemas.services
        let names = services.map(\.name)
        #expect(names.contains("caravan.echo.v1.Echo"))
        #expect(names.contains("caravan.health.v1.Health"))
        #expect(names.contains("caravan.reflection.v1.Reflection"))
        #expect(Set(names).count == names.count)
        let types = CaravanEnvelopeSchemas.messageTypes + CaravanEchoAPISchemas.messageTypes
            + CaravanHealthAPISchemas.messageTypes + CaravanReflectionAPISchemas.messageTypes
            + CaravanTradeAPISchemas.messageTypes + CaravanLogisticsAPISchemas.messageTypes
            + CaravanTrainingAPISchemas.messageTypes + CaravanGatewayAPISchemas.messageTypes
            + CaravanTestingAPISchemas.messageTypes
        let typeNames = types.map { $0.protoMessageName }
        #expect(Set(typeNames).count == typeNames.count)
        #expect(typeNames.contains("caravan.rpc.v1.RequestHeader"))
        #expect(typeNames.contains("caravan.testing.v1.KitchenSink.Nested"))
        // The testing package's only services: the two releases of evolution.proto's Catalog.
        #expect(
            CaravanTestingAPISchemas.services.map(\.name)
                == ["caravan.testing.v1.CatalogRelease1", "caravan.testing.v1.CatalogRelease2"])
        // Every method's types are registered in some module.
        for service in services {
            for method in service.methods {
                #expect(typeNames.contains(method.inputType.protoMessageName))
                #expect(typeNames.contains(method.outputType.protoMessageName))
            }
        }
    }

    @Test func routerCallsTheService() async throws {
        var router = RPCRouter()
        router.register(TestEcho())
        #expect(router.services.map(\.name) == ["caravan.echo.v1.Echo"])
        let route = try #require(router.route(forPath: "/caravan.echo.v1.Echo/Unary"))
        guard case .unary(let handler) = route.handler else {
            Issue.record("Unary is not routed as unary")
            return
        }
        let request = try EchoRequest(payload: [1, 2], text: "hi").serializedBytes()
        let response = try await handler(request, ServerContext(descriptor: Echo.Method.unary))
        #expect(try EchoResponse(serializedBytes: response) == EchoResponse(payload: [1, 2], text: "hi"))
        // Bytes that are not an EchoRequest: INVALID_ARGUMENT.
        await #expect(throws: RPCError.self) { _ = try await handler([0x0A, 0x09], ServerContext(descriptor: Echo.Method.unary)) }
    }

    @Test func clientThroughALoopbackTransport() async throws {
        var router = RPCRouter()
        router.register(TestEcho())
        let client = EchoClient(wrapping: RPCClient(transport: LoopbackTransport(router: router)))

        #expect(try await client.unary(EchoRequest(text: "one")).text == "one")

        let streamed = try await client.serverStream(StreamRequest(payload: [7], count: 3)) { responses in
            var all: [EchoResponse] = []
            for try await response in responses { all.append(response) }
            return all
        }
        #expect(streamed == Array(repeating: EchoResponse(payload: [7]), count: 3))

        let joined = try await client.clientStream { writer in
            try await writer.write(EchoRequest(payload: [1]))
            try await writer.write(EchoRequest(payload: [2, 3]))
        }
        #expect(joined.payload == [1, 2, 3])

        let echoed = try await client.bidiStream(
            requests: { writer in
                for text in ["a", "b"] { try await writer.write(EchoRequest(text: text)) }
            },
            onResponse: { responses in
                var texts: [String] = []
                for try await response in responses { texts.append(response.text) }
                return texts
            })
        #expect(echoed == ["a", "b"])

        await #expect(throws: RPCError.self) { _ = try await client.fail(FailRequest(code: 5, message: "nope")) }
    }
}

/// An Echo service for the tests.
struct TestEcho: EchoServiceProtocol {
    func unary(request: EchoRequest, context: ServerContext) async throws -> EchoResponse {
        EchoResponse(payload: request.payload, text: request.text)
    }

    func serverStream(request: StreamRequest, response: RPCWriter<EchoResponse>, context: ServerContext) async throws {
        for _ in 0..<request.count { try await response.write(EchoResponse(payload: request.payload)) }
    }

    func clientStream(request: RPCAsyncSequence<EchoRequest>, context: ServerContext) async throws -> EchoResponse {
        var payload: [UInt8] = []
        for try await message in request { payload += message.payload }
        return EchoResponse(payload: payload)
    }

    func bidiStream(request: RPCAsyncSequence<EchoRequest>, response: RPCWriter<EchoResponse>, context: ServerContext) async throws {
        for try await message in request { try await response.write(EchoResponse(payload: message.payload, text: message.text)) }
    }

    func sleep(request: SleepRequest, context: ServerContext) async throws -> EchoResponse {
        EchoResponse(payload: request.payload)
    }

    func fail(request: FailRequest, context: ServerContext) async throws -> EchoResponse {
        let status = StatusCode(rawValue: request.code).flatMap(RPCError.Code.init) ?? .unknown
        throw RPCError(code: status, message: request.message)
    }
}

/// Calls a router in the same task: requests are collected first, then the
/// handler runs and its responses are streamed back.
struct LoopbackTransport: ClientTransport {
    let router: RPCRouter

    func unary(descriptor: MethodDescriptor, request: [UInt8], options: ResolvedCallOptions) async throws -> [UInt8] {
        guard let route = self.router.route(forPath: descriptor.path), case .unary(let handler) = route.handler else {
            throw RPCError(code: .unimplemented, message: descriptor.path)
        }
        return try await handler(request, ServerContext(descriptor: descriptor))
    }

    func streaming<Result: Sendable>(
        descriptor: MethodDescriptor,
        options: ResolvedCallOptions,
        requests: @escaping @Sendable (RawMessageWriter) async throws -> Void,
        responses: (RawMessageStream) async throws -> Result
    ) async throws -> Result {
        guard let route = self.router.route(forPath: descriptor.path) else {
            throw RPCError(code: .unimplemented, message: descriptor.path)
        }
        let (requestStream, requestSink) = RawMessageStream.makeStream()
        try await requests(RawMessageWriter { requestSink.yield($0) })
        requestSink.finish()
        let (responseStream, responseSink) = RawMessageStream.makeStream()
        let writer = RawMessageWriter { responseSink.yield($0) }
        let context = ServerContext(descriptor: descriptor)
        do {
            switch route.handler {
            case .unary(let handler):
                var iterator = requestStream.makeAsyncIterator()
                responseSink.yield(try await handler(try await iterator.next() ?? [], context))
            case .serverStreaming(let handler):
                var iterator = requestStream.makeAsyncIterator()
                try await handler(try await iterator.next() ?? [], writer, context)
            case .clientStreaming(let handler):
                responseSink.yield(try await handler(requestStream, context))
            case .bidirectionalStreaming(let handler):
                try await handler(requestStream, writer, context)
            }
            responseSink.finish()
        } catch {
            responseSink.finish(throwing: error)
        }
        return try await responses(responseStream)
    }
}

extension Array where Element == UInt8 {
    func containsSequence(_ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, needle.count <= self.count else { return needle.isEmpty }
        return (0...(self.count - needle.count)).contains { Array(self[$0..<$0 + needle.count]) == needle }
    }
}
