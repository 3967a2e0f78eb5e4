import CaravanCore
import CaravanTCP
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import ServiceLifecycle

/// Serves every routed server-streaming method over HTTP, as
/// `POST /v1/{package.Service}/{Method}` (JSON body) or `GET` (query
/// parameters, for browsers' `EventSource`): server-sent events or JSON
/// lines (``HTTPStreamFraming``).
///
/// The response head waits for the first message, the end of the call or
/// ``HTTPStreamingConfiguration/openAfter``, so that a call refused at once
/// (bad request, unknown id, no token) is an ordinary JSON error with its
/// HTTP status. A stream has no deadline unless the client sends
/// `X-Caravan-Timeout`; the client closing the connection (noticed at once
/// for `GET`, at the next write for `POST`), or the server shutting down,
/// cancels the call.
struct HTTPStreams: Sendable {
    let caller: HTTPGatewayCaller
    let runner: HTTPStreamRunner
    let configuration: HTTPStreamingConfiguration

    static let clientGone = RPCError(code: .cancelled, message: "The client closed the connection.")
    static let shuttingDown = RPCError(code: .unavailable, message: "The gateway is shutting down; reconnect.")

    /// `watchesConnection`: whether the request's body is untouched, so
    /// that the response can watch the connection for the client closing
    /// it (Hummingbird's `consumeWithInboundCloseHandler`, which must not
    /// run on a body already read: it would trap). A `POST`'s body has been
    /// read, so its stream notices a client gone at its next write (the
    /// keepalive comment, for server-sent events).
    func respond(
        _ schema: MethodSchema, message: [UInt8], to request: Request, headers: HTTPGatewayCaller.CallHeaders,
        watchesConnection: Bool
    ) async -> Response {
        guard let route = self.caller.router.route(forPath: schema.descriptor.path),
            case .serverStreaming(let handler) = route.handler
        else {
            return GatewayHTTPServer.respond(
                HTTPGatewayCaller.error(
                    RPCError(code: .unimplemented, message: "No stream is routed at \(schema.descriptor.path).")))
        }
        let context = HTTPGatewayCaller.serverContext(
            schema.descriptor, headers: headers, deadline: headers.timeout.map { ContinuousClock.now.advanced(by: $0) })
        let traceID = context.trace?.parts?.traceID
        let call = HTTPStreamingCall(maxBufferedMessages: self.configuration.maxBufferedMessages)
        let (router, keepalive) = (self.caller.router, self.configuration.keepaliveInterval)
        let started = self.runner.submit {
            await call.run(
                router: router, handler: handler, request: message, context: context, keepaliveInterval: keepalive)
        }
        guard started else {
            self.caller.rejections?.rejected(.shuttingDown)
            var answer = HTTPGatewayCaller.error(Self.shuttingDown)
            answer.traceID = traceID
            return GatewayHTTPServer.respond(answer)
        }
        let opening = await withGracefulShutdownHandler {
            await call.opening(within: self.configuration.openAfter)
        } onGracefulShutdown: {
            call.stop(Self.shuttingDown)
        }
        if case .ended(let error?) = opening {
            var answer = HTTPGatewayCaller.error(error)
            answer.traceID = traceID
            return GatewayHTTPServer.respond(answer)
        }
        let framing = HTTPStreamFraming(accept: request.headers[.accept])
        var fields: HTTPFields = [.contentType: framing.contentType, .cacheControl: "no-cache"]
        if let traceID { fields[GatewayHTTPServer.traceIDHeader] = traceID }
        let requestBody = request.body
        let output = schema.outputType
        return Response(
            status: .ok, headers: fields,
            body: ResponseBody { writer in
                try await withGracefulShutdownHandler {
                    guard watchesConnection else {
                        return try await Self.write(call, output: output, framing: framing, to: &writer)
                    }
                    try await requestBody.consumeWithInboundCloseHandler { _ in
                        try await Self.write(call, output: output, framing: framing, to: &writer)
                    } onInboundClosed: {
                        call.stop(Self.clientGone)
                    }
                } onGracefulShutdown: {
                    call.stop(Self.shuttingDown)
                }
            })
    }

    /// Writes the call's messages as they come, then its status; a failed
    /// write (the client is gone) stops the call.
    static func write(
        _ call: HTTPStreamingCall, output: any ProtoMessage.Type, framing: HTTPStreamFraming,
        to writer: inout any ResponseBodyWriter
    ) async throws {
        do {
            var unconvertible: RPCError?
            for await event in call.events {
                switch event {
                case .message(let bytes):
                    guard unconvertible == nil else { continue }
                    let json: Data
                    do {
                        json = try HTTPGatewayCaller.decode(bytes, output)
                    } catch {
                        let failure = RPCError(code: .internal, message: "Cannot turn a message into JSON: \(error)")
                        unconvertible = failure
                        call.stop(failure)
                        continue
                    }
                    try await writer.write(ByteBuffer(bytes: framing.message(json)))
                case .idle:
                    if let keepalive = framing.keepalive { try await writer.write(ByteBuffer(bytes: keepalive)) }
                }
            }
            let end = framing.end(unconvertible ?? call.ending)
            if !end.isEmpty { try await writer.write(ByteBuffer(bytes: end)) }
            try await writer.finish(nil)
        } catch {
            call.stop(Self.clientGone)
            throw error
        }
    }
}
