import CaravanCore
import CaravanEchoAPI

/// The echo test service: returns requests, streams, sleeps and fails on
/// request. Tests, benchmarks and the load generator's self-checks use it.
public struct EchoService: EchoServiceProtocol {
    /// Longest sleep or stream a caller may ask for, so a request cannot
    /// hold a handler for ever.
    public static let maxSleep: Duration = .seconds(60)
    public static let maxStreamCount: UInt32 = 100_000

    public init() {}

    public func unary(request: EchoRequest, context: ServerContext) async throws -> EchoResponse {
        var response = EchoResponse()
        response.payload = request.payload
        response.text = request.text
        return response
    }

    public func serverStream(
        request: StreamRequest,
        response: RPCWriter<EchoResponse>,
        context: ServerContext
    ) async throws {
        guard request.count <= Self.maxStreamCount else {
            throw RPCError.invalidArgument(field: "count", "at most \(Self.maxStreamCount) messages")
        }
        var message = EchoResponse()
        message.payload = request.payload
        for index in 0..<request.count {
            if index > 0 && request.intervalMillis > 0 {
                try await Task.sleep(for: .milliseconds(Int(request.intervalMillis)))
            }
            try Task.checkCancellation()
            message.text = String(index)
            try await response.write(message)
        }
    }

    public func clientStream(request: RPCAsyncSequence<EchoRequest>, context: ServerContext) async throws
        -> EchoResponse
    {
        var response = EchoResponse()
        for try await message in request {
            response.payload.append(contentsOf: message.payload)
            response.text += message.text
        }
        return response
    }

    public func bidiStream(
        request: RPCAsyncSequence<EchoRequest>,
        response: RPCWriter<EchoResponse>,
        context: ServerContext
    ) async throws {
        for try await message in request {
            var reply = EchoResponse()
            reply.payload = message.payload
            reply.text = message.text
            try await response.write(reply)
        }
    }

    public func sleep(request: SleepRequest, context: ServerContext) async throws -> EchoResponse {
        let duration = Duration.milliseconds(Int(request.millis))
        guard duration <= Self.maxSleep else {
            throw RPCError.invalidArgument(field: "millis", "at most \(Self.maxSleep)")
        }
        try await Task.sleep(for: duration)
        var response = EchoResponse()
        response.payload = request.payload
        return response
    }

    public func fail(request: FailRequest, context: ServerContext) async throws -> EchoResponse {
        guard let status = StatusCode(rawValue: request.code), let code = RPCError.Code(status) else {
            throw RPCError.invalidArgument(field: "code", "must be a non-OK status code, 1 to 16; got \(request.code)")
        }
        throw RPCError(code: code, message: request.message)
    }
}
