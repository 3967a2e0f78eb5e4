import CaravanCore
import CaravanHealthAPI

/// `caravan.health.v1.Health`, answering from a ``HealthStatusProvider``.
public struct HealthService: HealthServiceProtocol {
    public let provider: HealthStatusProvider

    public init(provider: HealthStatusProvider) {
        self.provider = provider
    }

    public func check(request: HealthCheckRequest, context: ServerContext) async throws -> HealthCheckResponse {
        guard let status = self.provider.status(of: request.service) else {
            throw RPCError(code: .notFound, message: "Unknown service \"\(request.service)\".")
        }
        var response = HealthCheckResponse()
        response.status = status
        return response
    }

    public func watch(
        request: HealthCheckRequest,
        response: RPCWriter<HealthCheckResponse>,
        context: ServerContext
    ) async throws {
        for await status in self.provider.watch(request.service) {
            var message = HealthCheckResponse()
            message.status = status
            try await response.write(message)
        }
    }
}
