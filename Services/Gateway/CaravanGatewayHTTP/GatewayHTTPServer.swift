import CaravanCore
import CaravanGateway
import CaravanGatewayAPI
import CaravanServiceKit
import CaravanTCP
import CaravanTradeAPI
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTLS
import Logging
import NIOCore
import Prometheus

/// The gateway's HTTP/JSON door (Hummingbird 2): the aggregates as
/// `GET /v1/countries/{code}/profile?year=` and `GET /v1/overview?year=`,
/// the energy cooperation projects as `GET /v1/energy-projects?country=`,
/// any routed unary method as `POST /v1/{package.Service}/{Method}`, any
/// routed server-streaming method as `POST` or `GET` on the same path
/// (``HTTPStreams``), the OpenAPI document at `/openapi.json`, `/healthz`,
/// `/readyz`, `/metrics` when metrics are on, and the dashboard at `/` (its
/// files under `/assets/`). docs/HTTP.md describes it for clients.
public enum GatewayHTTPServer {
    /// The replicas' state per backend, as `/readyz` reports it.
    struct Readiness: Codable {
        struct Replica: Codable {
            var address: String
            var healthy: Bool
            var ejected: Bool
            var outstanding: Int
        }
        struct BackendState: Codable {
            var configured: Bool
            var ready: Bool
            var replicas: [Replica]
        }
        var ready: Bool
        var backends: [String: BackendState]
    }

    /// Ready when every configured backend has a usable replica (and at least one is configured).
    static func readiness(_ pools: [Backend: BackendPool]) -> Readiness {
        let now = ContinuousClock.now
        var backends: [String: Readiness.BackendState] = [:]
        for (backend, pool) in pools {
            backends[backend.rawValue] = Readiness.BackendState(
                configured: pool.isConfigured, ready: pool.isReady,
                replicas: pool.replicas.map {
                    Readiness.Replica(
                        address: $0.endpoint.description, healthy: $0.healthy,
                        ejected: $0.ejectedUntil.map { $0 > now } ?? false, outstanding: $0.outstanding)
                })
        }
        let configured = backends.values.filter(\.configured)
        return Readiness(ready: !configured.isEmpty && configured.allSatisfy(\.ready), backends: backends)
    }

    public static func router(
        caller: HTTPGatewayCaller, pools: [Backend: BackendPool], metrics: PrometheusCollectorRegistry? = nil,
        streams runner: HTTPStreamRunner, streaming: HTTPStreamingConfiguration = .defaults
    ) -> Router<GatewayRequestContext> {
        let streams = HTTPStreams(caller: caller, runner: runner, configuration: streaming)
        let router = Router(context: GatewayRequestContext.self)
        if let metrics {
            router.get("/metrics") { _, _ in
                Response(
                    status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                    body: .init(byteBuffer: ByteBuffer(bytes: metrics.emitToBuffer())))
            }
        }
        router.get("/") { _, _ in Self.asset(DashboardPage.index) }
        router.get("/assets/:name") { _, context in
            guard let asset = context.parameters.get("name").flatMap({ DashboardPage.assets[$0] }) else {
                return Self.respond(HTTPGatewayCaller.error(RPCError(code: .notFound, message: "No such asset.")))
            }
            return Self.asset(asset)
        }
        router.get("/healthz") { _, _ in Self.json(200, Data(#"{"status":"alive"}"#.utf8)) }
        router.get("/readyz") { _, _ in
            let readiness = Self.readiness(pools)
            let body = (try? JSONEncoder().encode(readiness)) ?? Data()
            return Self.json(readiness.ready ? 200 : 503, body)
        }
        router.get("/v1/countries/:code/profile") { request, context in
            await Self.answering {
                let message = CountryProfileRequest(
                    country: context.parameters.get("code") ?? "", year: try Self.year(request))
                let headers = try Self.headers(request, context)
                return Self.respond(
                    await caller.call(Gateway.Method.countryProfile, message: message, headers: headers))
            }
        }
        router.get("/v1/overview") { request, context in
            await Self.answering {
                let message = PartnershipOverviewRequest(year: try Self.year(request))
                let headers = try Self.headers(request, context)
                return Self.respond(
                    await caller.call(Gateway.Method.partnershipOverview, message: message, headers: headers))
            }
        }
        router.get("/v1/energy-projects") { request, context in
            await Self.answering {
                let message = ListEnergyProjectsRequest(country: request.uri.queryParameters.get("country") ?? "")
                let headers = try Self.headers(request, context)
                return Self.respond(
                    await caller.call(TradeService.Method.listEnergyProjects, message: message, headers: headers))
            }
        }
        router.post("/v1/:service/:method") { request, context in
            let body = try await request.body.collect(upTo: caller.maxBodySize)
            return await Self.answering {
                let (service, method) = (
                    context.parameters.get("service") ?? "", context.parameters.get("method") ?? ""
                )
                let (json, headers) = (Data(body.readableBytesView), try Self.headers(request, context))
                guard let schema = caller.methods["/\(service)/\(method)"], schema.kind == .serverStreaming else {
                    return Self.respond(
                        await caller.call(service: service, method: method, json: json, headers: headers))
                }
                let message: [UInt8]
                do {
                    message = try HTTPGatewayCaller.encode(json.isEmpty ? Data("{}".utf8) : json, schema.inputType)
                } catch {
                    throw Self.invalidRequest(schema, error)
                }
                return await streams.respond(
                    schema, message: message, to: request, headers: headers, watchesConnection: false)
            }
        }
        router.get("/v1/:service/:method") { request, context in
            await Self.answering {
                let path = "/\(context.parameters.get("service") ?? "")/\(context.parameters.get("method") ?? "")"
                guard let schema = caller.methods[path] else {
                    throw RPCError(code: .unimplemented, message: "No method \(path) is routed by this gateway.")
                }
                guard schema.kind == .serverStreaming else {
                    var response = Self.respond(
                        HTTPGatewayCaller.error(
                            RPCError(
                                code: .unimplemented,
                                message: "\(path) takes POST with a JSON body; GET serves streams.")))
                    response.status = .methodNotAllowed
                    response.headers[.allow] = "POST"
                    return response
                }
                let headers = try Self.headers(request, context)
                let message: [UInt8]
                do {
                    let parameters = request.uri.queryParameters.map { (String($0.key), String($0.value)) }
                    message = try QueryParameterDecoder.decode(schema.inputType, from: parameters).serializedBytes()
                } catch {
                    throw Self.invalidRequest(schema, error)
                }
                return await streams.respond(
                    schema, message: message, to: request, headers: headers, watchesConnection: true)
            }
        }
        router.get("/openapi.json") { _, _ in
            Self.json(200, Data(GatewayOpenAPI.document.utf8))
        }
        return router
    }

    /// The route's response, or the error's (with its HTTP status) when it
    /// throws: a malformed header or parameter, a body that is not the request.
    static func answering(_ body: () async throws -> Response) async -> Response {
        do {
            return try await body()
        } catch {
            return Self.respond(HTTPGatewayCaller.error(RPCError(converting: error)))
        }
    }

    /// INVALID_ARGUMENT for a request that does not make the method's input message.
    static func invalidRequest(_ schema: MethodSchema, _ error: any Error) -> RPCError {
        RPCError(
            code: .invalidArgument, message: "The request is not a valid \(schema.inputType.protoMessageName): \(error)"
        )
    }

    /// The year from `?year=`; this year's previous year when absent
    /// (the latest with published figures).
    static func year(_ request: Request) throws(RPCError) -> UInt32 {
        guard let text = request.uri.queryParameters.get("year") else {
            return UInt32(Calendar(identifier: .gregorian).component(.year, from: Date()) - 1)
        }
        guard let year = UInt32(text) else { throw RPCError.invalidArgument(field: "year", "must be a number") }
        return year
    }

    /// `Grpc-Timeout`-like `X-Caravan-Timeout: 2s`, `Idempotency-Key`, `traceparent`, `tracestate`, `Authorization`.
    /// A timeout that is not a duration is INVALID_ARGUMENT, not the default.
    static func headers(_ request: Request, _ context: GatewayRequestContext) throws(RPCError)
        -> HTTPGatewayCaller.CallHeaders
    {
        try Self.headers(request.headers, peer: context.peer)
    }

    /// ``headers(_:_:)`` from the header fields alone; public for
    /// Tests/Fuzz (HTTPDoorFuzzer), which has no connection to take a
    /// request from.
    public static func headers(_ fields: HTTPFields, peer: String) throws(RPCError) -> HTTPGatewayCaller.CallHeaders {
        func header(_ name: String) -> String? { HTTPField.Name(name).flatMap { fields[$0] } }
        var timeout: Duration?
        if let text = header("x-caravan-timeout") {
            guard let duration = parseDuration(text) else {
                throw RPCError.invalidArgument(
                    field: "X-Caravan-Timeout", "\"\(text)\" is not a duration such as 500ms, 2s or 1m")
            }
            timeout = duration
        }
        return HTTPGatewayCaller.CallHeaders(
            timeout: timeout,
            idempotencyKey: header("idempotency-key"),
            traceparent: header("traceparent"),
            tracestate: header("tracestate"),
            authorization: fields[.authorization],
            peer: peer)
    }

    /// The answer as JSON; 401 says which scheme to use, 429 when to retry.
    static func respond(_ answer: HTTPGatewayCaller.Answer) -> Response {
        var response = Self.json(answer.status, answer.json)
        // The trace the call ran in, so that a client can find its log lines.
        if let traceID = answer.traceID { response.headers[Self.traceIDHeader] = traceID }
        if answer.status == 401 { response.headers[.wwwAuthenticate] = "Bearer" }
        if let milliseconds = answer.retryAfterMilliseconds {
            // Retry-After counts whole seconds; round up so a client waiting it out is not refused again.
            response.headers[.retryAfter] = String(max(1, (milliseconds + 999) / 1000))
        }
        return response
    }

    static let traceIDHeader = HTTPField.Name("X-Trace-Id")!
    static let contentSecurityPolicyHeader = HTTPField.Name("Content-Security-Policy")!

    /// A dashboard file, revalidated on each load (a restarted gateway may
    /// serve a newer page), under the page's content security policy.
    static func asset(_ asset: DashboardPage.Asset) -> Response {
        Response(
            status: .ok,
            headers: [
                .contentType: asset.contentType, .cacheControl: "no-cache",
                Self.contentSecurityPolicyHeader: DashboardPage.contentSecurityPolicy,
            ],
            body: .init(byteBuffer: ByteBuffer(bytes: asset.bytes)))
    }

    static func json(_ status: Int, _ body: Data) -> Response {
        Response(
            status: HTTPResponse.Status(code: status), headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    /// The HTTP server as a swift-service-lifecycle `Service`;
    /// `onListening` gets the bound address (for port 0). With `tls` it
    /// serves HTTPS with the RPC listener's certificate (and client CA).
    public static func application(
        caller: HTTPGatewayCaller,
        pools: [Backend: BackendPool],
        host: String,
        port: Int,
        tls: ServerTLS? = nil,
        logger: Logger,
        metrics: PrometheusCollectorRegistry? = nil,
        streaming: HTTPStreamingConfiguration = .defaults,
        onListening: @escaping @Sendable (SocketAddress) async -> Void
    ) throws -> some ApplicationProtocol {
        let runner = HTTPStreamRunner()
        return Application(
            router: Self.router(caller: caller, pools: pools, metrics: metrics, streams: runner, streaming: streaming),
            server: try tls.map { try .tls(.http1(), tlsConfiguration: $0.configuration) } ?? .http1(),
            configuration: .init(address: .hostname(host, port: port), serverName: "caravan-gateway"),
            services: [runner],
            onServerRunning: { channel in
                if let address = channel.localAddress { await onListening(address) }
            },
            logger: logger
        )
    }
}
