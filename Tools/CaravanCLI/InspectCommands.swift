import ArgumentParser
import CaravanCore
import CaravanHealthAPI
import CaravanReflectionAPI
import Foundation
import CaravanServiceKit

/// `caravan list`: the services and methods a server offers (reflection).
struct ListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List the services and methods a server offers.")

    @Option(name: .long, help: "Give up after this long.")
    var timeout: String = "5s"

    @Argument(help: "Server address, host:port.")
    var address: String

    @OptionGroup var security: ClientSecurityOptions

    func run() async throws {
        let services = try await Reflection.listServices(self.address, timeout: self.timeout, security: self.security)
        for service in services {
            print(service.name)
            for method in service.methods {
                print("  \(method.path)")
            }
        }
    }
}

/// `caravan describe`: a service's or method's signature (reflection).
struct DescribeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "describe",
        abstract: "Describe a service or method: its methods, kinds and message types.")

    @Option(name: .long, help: "Give up after this long.")
    var timeout: String = "5s"

    @Argument(help: "Server address, host:port.")
    var address: String

    @Argument(help: "A service (caravan.echo.v1.Echo) or method (caravan.echo.v1.Echo/Unary).")
    var symbol: String

    @OptionGroup var security: ClientSecurityOptions

    func run() async throws {
        let services = try await Reflection.listServices(self.address, timeout: self.timeout, security: self.security)
        let symbol = self.symbol.hasPrefix("/") ? String(self.symbol.dropFirst()) : self.symbol
        if let service = services.first(where: { $0.name == symbol }) {
            print("service \(service.name) {  // \(service.file)")
            for method in service.methods { print("  " + Self.signature(method)) }
            print("}")
            return
        }
        for service in services {
            for method in service.methods
            where method.path == "/" + symbol || "\(service.name).\(method.name)" == symbol {
                print("\(service.name).\(method.name) is a \(Self.kind(method)) method:")
                print("  " + Self.signature(method))
                Self.printFields(method.inputType)
                Self.printFields(method.outputType)
                return
            }
        }
        throw ValidationError("The server has no service or method named '\(self.symbol)'.")
    }

    static func kind(_ method: MethodInfo) -> String {
        switch (method.clientStreaming, method.serverStreaming) {
        case (false, false): return "unary"
        case (false, true): return "server-streaming"
        case (true, false): return "client-streaming"
        case (true, true): return "bidirectional-streaming"
        }
    }

    static func signature(_ method: MethodInfo) -> String {
        let input = (method.clientStreaming ? "stream " : "") + "." + method.inputType
        let output = (method.serverStreaming ? "stream " : "") + "." + method.outputType
        return "rpc \(method.name)(\(input)) returns (\(output));"
    }

    /// Prints a message's fields as the `.proto` declares them, from the
    /// protobuf-c descriptor compiled into this build.
    static func printFields(_ typeName: String) {
        guard let type = SchemaRegistry.messageType(named: typeName) else {
            print("  message \(typeName)  // not known to this build of caravan")
            return
        }
        print("  message \(typeName) {")
        for field in MessageFields.describe(type) {
            print("    \(field)")
        }
        print("  }")
    }
}

/// `caravan health`: exit 0 only when the server (or service) is SERVING.
struct HealthCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "health",
        abstract: "Check a server's health; exit 0 only when SERVING (usable as a probe).")

    @Option(name: .long, help: "Give up after this long.")
    var timeout: String = "2s"

    @Argument(help: "Server address, host:port.")
    var address: String

    @Argument(help: "A service name; the whole server when omitted.")
    var service: String = ""

    @OptionGroup var security: ClientSecurityOptions

    func run() async throws {
        guard let endpoint = Endpoint(self.address) else {
            throw ValidationError("'\(self.address)' is not an address of the form host:port.")
        }
        let options = try CommonOptions.callOptions(headers: [], idempotencyKey: nil)
        let timeout = try CommonOptions.timeout(self.timeout)
        let request = HealthCheckRequest(service: self.service)
        let configuration = try self.security.clientConfiguration()
        let result: Result<HealthCheckResponse, RPCError> = try await withClient(
            endpoint, configuration: configuration, timeout: timeout, retryPolicy: .none
        ) { client in
            do {
                return .success(try await HealthClient(wrapping: client).check(request, options: options))
            } catch let error as RPCError {
                return .failure(error)
            }
        }
        switch result {
        case .success(let response):
            let name = Self.name(response.status)
            print(name)
            if response.status != .serving { throw ExitCode(1) }
        case .failure(let error):
            Output.printError("ERROR: \(error.code.status.name): \(error.message)")
            throw ExitCode(2)
        }
    }

    static func name(_ status: HealthCheckResponse.ServingStatus) -> String {
        switch status {
        case .serving: return "SERVING"
        case .notServing: return "NOT_SERVING"
        case .serviceUnknown: return "SERVICE_UNKNOWN"
        case .unknown: return "UNKNOWN"
        default: return "UNKNOWN(\(status.rawValue))"
        }
    }
}

enum Reflection {
    static func listServices(_ address: String, timeout: String, security: ClientSecurityOptions) async throws -> [ServiceInfo] {
        guard let endpoint = Endpoint(address) else {
            throw ValidationError("'\(address)' is not an address of the form host:port.")
        }
        let options = try security.authorize(CommonOptions.callOptions(headers: [], idempotencyKey: nil))
        let configuration = try security.clientConfiguration()
        let timeout = try CommonOptions.timeout(timeout)
        do {
            return try await withClient(endpoint, configuration: configuration, timeout: timeout) { client in
                try await ReflectionClient(wrapping: client).listServices(ListServicesRequest(), options: options).services
            }
        } catch let error as RPCError {
            Output.printError("ERROR: \(error.code.status.name): \(error.message)")
            throw ExitCode(64 + error.code.rawValue)
        }
    }
}
