import CaravanCore
import CaravanGateway
import CaravanGatewayAPI
import CaravanTCP
import Foundation
import Synchronization

/// Runs HTTP/JSON requests as calls on the gateway's own RPC router, so
/// HTTP clients get exactly what RPC clients get: the same aggregates, the
/// same routing to the pools, the same interceptors, the same deadline
/// rules. A request without `X-Caravan-Timeout` gets the door's default
/// deadline, enforced: the answer is DEADLINE_EXCEEDED (504) at the latest
/// then.
public struct HTTPGatewayCaller: Sendable {
    /// An HTTP answer: status and JSON body.
    public struct Answer: Sendable {
        public var status: Int
        public var json: Data
        /// The trace the call ran in (absent when it never reached the router).
        public var traceID: String?
        /// For 429: when to try again (from the trailer `retry-after-ms`).
        public var retryAfterMilliseconds: Int? = nil
    }

    /// The JSON error body: `{code, message, details}`, as grpc-gateway writes it.
    struct ErrorBody: Codable {
        var code: Int32
        var message: String
        var details: [String]
    }

    let router: RPCRouter
    let defaultTimeout: Duration
    /// The largest request body read, like the TCP door's frame limit.
    public let maxBodySize: Int
    let inFlight: InFlightCalls
    let methods: [String: MethodSchema]
    /// Where calls refused before reaching the router are counted (the TCP
    /// door's counter, so one series shows the process's refusals).
    let rejections: TransportMetrics?

    public init(
        router: RPCRouter,
        defaultTimeout: Duration = GatewayHTTPTransport.Configuration.defaults.defaultTimeout,
        maxBodySize: Int = GatewayHTTPTransport.Configuration.defaults.maxBodySize,
        maxConcurrentCalls: Int = GatewayHTTPTransport.Configuration.defaults.maxConcurrentCalls,
        rejections: TransportMetrics? = nil
    ) {
        self.router = router
        self.rejections = rejections
        self.defaultTimeout = defaultTimeout
        self.maxBodySize = maxBodySize
        self.inFlight = InFlightCalls(limit: maxConcurrentCalls)
        var methods: [String: MethodSchema] = [:]
        for schema in router.services { for method in schema.methods { methods[method.descriptor.path] = method } }
        self.methods = methods
    }

    /// Per-call choices read from HTTP headers.
    public struct CallHeaders: Sendable {
        public var timeout: Duration?
        public var idempotencyKey: String?
        public var traceparent: String?
        public var tracestate: String?
        /// The `Authorization` header, passed on as the `authorization` metadata.
        public var authorization: String?
        /// The client's address, for per-client limits when there is no token.
        public var peer: String

        public init(
            timeout: Duration? = nil, idempotencyKey: String? = nil, traceparent: String? = nil,
            tracestate: String? = nil,
            authorization: String? = nil, peer: String = "http"
        ) {
            self.timeout = timeout
            self.idempotencyKey = idempotencyKey
            self.traceparent = traceparent
            self.tracestate = tracestate
            self.authorization = authorization
            self.peer = peer
        }
    }

    /// `POST /v1/{package.Service}/{Method}` with a JSON body.
    public func call(service: String, method: String, json: Data, headers: CallHeaders) async -> Answer {
        let path = "/\(service)/\(method)"
        guard let schema = self.methods[path] else {
            return Self.error(RPCError(code: .unimplemented, message: "No method \(path) is routed by this gateway."))
        }
        guard schema.kind == .unary else {
            return Self.error(
                RPCError(code: .unimplemented, message: "\(path) streams; HTTP/JSON serves unary methods only."))
        }
        let request: [UInt8]
        do {
            request = try Self.encode(json.isEmpty ? Data("{}".utf8) : json, schema.inputType)
        } catch {
            return Self.error(
                RPCError(
                    code: .invalidArgument,
                    message: "The body is not a valid \(schema.inputType.protoMessageName) in JSON: \(error)"))
        }
        return await self.call(schema, request: request, headers: headers)
    }

    /// Calls a method with an already built request.
    public func call(_ descriptor: MethodDescriptor, message: some ProtoMessage, headers: CallHeaders) async -> Answer {
        guard let schema = self.methods[descriptor.path] else {
            return Self.error(RPCError(code: .unimplemented, message: "No method \(descriptor.path) is routed."))
        }
        do {
            return await self.call(schema, request: try message.serializedBytes(), headers: headers)
        } catch {
            return Self.error(RPCError(code: .invalidArgument, message: "Cannot encode the request: \(error)"))
        }
    }

    private func call(_ schema: MethodSchema, request: [UInt8], headers: CallHeaders) async -> Answer {
        guard let route = self.router.route(forPath: schema.descriptor.path), case .unary(let handler) = route.handler
        else {
            return Self.error(RPCError(code: .unimplemented, message: "No unary route for \(schema.descriptor.path)."))
        }
        let context = Self.serverContext(
            schema.descriptor, headers: headers,
            deadline: ContinuousClock.now.advanced(by: headers.timeout ?? self.defaultTimeout))
        guard self.inFlight.enter() else {
            self.rejections?.rejected(.httpInFlightLimit)
            return Self.error(
                RPCError(
                    code: .resourceExhausted, message: "Too many HTTP calls in flight (limit \(self.inFlight.limit))."))
        }
        defer { self.inFlight.leave() }
        // The same adaptive limit as the TCP door's calls: one process, one
        // latency to protect, whichever door a call came in by.
        var ticket: AdmissionControl.Ticket?
        if let admission = self.router.admission {
            switch admission.admit(deadline: context.deadline, now: .now) {
            case .success(let admitted): ticket = admitted
            case .failure(let refusal):
                self.rejections?.rejected(TransportMetrics.RejectionReason(admissionRefusal: refusal))
                return Self.error(refusal)
            }
        }
        var answer: Answer
        let router = self.router
        let outcome: Result<[UInt8], RPCError>
        do {
            outcome = try await withDeadline(context.deadline) {
                await router.handleUnary(handler, request: request, context: context)
            }
        } catch {
            outcome = .failure(RPCError(converting: error))
        }
        if let ticket { self.router.admission?.finished(ticket, with: outcome) }
        switch outcome {
        case .success(let bytes):
            do {
                answer = Answer(status: 200, json: try Self.decode(bytes, schema.outputType))
            } catch {
                answer = Self.error(RPCError(code: .internal, message: "Cannot turn the answer into JSON: \(error)"))
            }
        case .failure(let error):
            answer = Self.error(error)
        }
        answer.traceID = context.trace?.parts?.traceID
        return answer
    }

    static func error(_ error: RPCError) -> Answer {
        let json = ErrorBody(code: error.code.rawValue, message: error.message, details: []).json
        return Answer(
            status: HTTPStatusMapping.httpStatus(for: error.code), json: json,
            retryAfterMilliseconds: error.retryAfterMilliseconds)
    }

    static func encode<Message: ProtoMessage>(_ json: Data, _ type: Message.Type) throws -> [UInt8] {
        try ProtoJSON.protobuf(fromJSON: json, as: type)
    }

    static func decode<Message: ProtoMessage>(_ bytes: [UInt8], _ type: Message.Type) throws -> Data {
        try ProtoJSON.json(fromProtobuf: bytes, as: type)
    }
}

/// Counts the HTTP door's calls in flight against its limit.
final class InFlightCalls: Sendable {
    let limit: Int
    private let count = Mutex(0)

    init(limit: Int) { self.limit = max(1, limit) }

    /// Takes a place; false when every place is taken.
    func enter() -> Bool {
        self.count.withLock { count in
            guard count < self.limit else { return false }
            count += 1
            return true
        }
    }

    func leave() { self.count.withLock { $0 -= 1 } }
}
