import CaravanCore
import CaravanReflectionAPI

/// `caravan.reflection.v1.Reflection`: what a server serves, and the
/// `.proto` schemas to call it.
public struct ReflectionService: ReflectionServiceProtocol {
    public let services: [ServiceSchema]

    public init(services: [ServiceSchema]) {
        self.services = services.sorted { $0.name < $1.name }
    }

    public func listServices(request: ListServicesRequest, context: ServerContext) async throws -> ListServicesResponse
    {
        var response = ListServicesResponse()
        response.services = self.services.map { schema in
            var info = ServiceInfo()
            info.name = schema.name
            info.file = schema.file
            info.methods = schema.methods.map { method in
                var info = MethodInfo()
                info.name = method.descriptor.method
                info.path = method.descriptor.path
                info.inputType = method.inputType.protoMessageName
                info.outputType = method.outputType.protoMessageName
                info.clientStreaming = method.kind.clientStreams
                info.serverStreaming = method.kind.serverStreams
                return info
            }
            return info
        }
        return response
    }

    public func fileDescriptors(
        request: FileDescriptorsRequest,
        context: ServerContext
    ) async throws -> FileDescriptorsResponse {
        let symbol = request.symbol.hasPrefix("/") ? String(request.symbol.dropFirst()) : request.symbol
        guard !symbol.isEmpty else {
            throw RPCError.invalidArgument(field: "symbol", "must name a service, method, message or file")
        }
        guard let schema = self.services.first(where: { Self.declares($0, symbol) }) else {
            throw RPCError(code: .notFound, message: "No service, method, message or file named \"\(symbol)\".")
        }
        var response = FileDescriptorsResponse()
        response.fileDescriptorProtos = schema.fileDescriptorProtos
        return response
    }

    /// Whether `symbol` is the service, one of its methods (`Svc/Method` or
    /// `Svc.Method`), a message its methods use, or its file.
    private static func declares(_ schema: ServiceSchema, _ symbol: String) -> Bool {
        if symbol == schema.name || symbol == schema.file { return true }
        return schema.methods.contains { method in
            let descriptor = method.descriptor
            return symbol == "\(descriptor.service)/\(descriptor.method)"
                || symbol == "\(descriptor.service).\(descriptor.method)"
                || symbol == method.inputType.protoMessageName
                || symbol == method.outputType.protoMessageName
        }
    }
}
