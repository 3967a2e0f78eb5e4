import ArgumentParser
import CaravanCore
import CaravanServiceKit
import Foundation

/// `caravan call`: JSON in, JSON out, like grpcurl.
struct CallCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "call",
        abstract: "Call a method with a JSON request; print the response as JSON.",
        discussion: """
            The request is the JSON argument, or standard input when it is '-' or absent. \
            Server-streaming methods print one JSON object per message. On a non-OK status \
            the status name and message go to standard error and the exit code is 64 + the \
            status code (as grpcurl does).
            """
    )

    @Option(name: .long, help: "Give up after this long (e.g. 500ms, 5s).")
    var timeout: String?

    @Option(name: [.customShort("H"), .long], help: "Request metadata, 'key: value' (repeatable).")
    var header: [String] = []

    @Option(name: .long, help: "Idempotency key for a write.")
    var idempotencyKey: String?

    @Flag(name: .long, help: "Print each message on one line.")
    var compact = false

    @OptionGroup var security: ClientSecurityOptions

    @Argument(help: "Server address, host:port.")
    var address: String

    @Argument(help: "Method: /package.Service/Method or package.Service.Method.")
    var method: String

    @Argument(help: "The request as JSON, or '-' for standard input.")
    var json: String?

    func run() async throws {
        guard let endpoint = Endpoint(self.address) else {
            throw ValidationError("'\(self.address)' is not an address of the form host:port.")
        }
        guard let schema = SchemaRegistry.method(named: self.method) else {
            throw ValidationError(
                "Unknown method '\(self.method)'. Use 'caravan list \(self.address)' to see what the server offers.")
        }
        let options = try self.security.authorize(
            CommonOptions.callOptions(headers: self.header, idempotencyKey: self.idempotencyKey))
        let timeout = try CommonOptions.timeout(self.timeout)
        let configuration = try self.security.clientConfiguration()
        let input: Data
        if let json = self.json, json != "-" {
            input = Data(json.utf8)
        } else {
            input = FileHandle.standardInput.readDataToEndOfFile()
        }
        let request: [UInt8]
        do {
            request = try SchemaRegistry.encodeJSON(input.isEmpty ? Data("{}".utf8) : input, as: schema.inputType)
        } catch {
            throw ValidationError("The request is not a valid \(schema.inputType.protoMessageName) in JSON: \(error)")
        }
        let pretty = !self.compact
        let outcome: RPCError? = try await withClient(endpoint, configuration: configuration, timeout: timeout) {
            client in
            do {
                if schema.kind == .unary {
                    let response = try await client.unary(
                        descriptor: schema.descriptor, request: request, options: options)
                    try Output.printJSON(SchemaRegistry.decodeToJSON(response, as: schema.outputType, pretty: pretty))
                } else {
                    try await client.streaming(
                        descriptor: schema.descriptor,
                        options: options,
                        requests: { writer in
                            if !schema.kind.clientStreams || !request.isEmpty { try await writer.write(request) }
                        },
                        responses: { stream in
                            for try await message in stream {
                                try Output.printJSON(
                                    SchemaRegistry.decodeToJSON(message, as: schema.outputType, pretty: pretty))
                            }
                        }
                    )
                }
                return nil
            } catch let error as RPCError {
                return error
            }
        }
        if let outcome {
            Output.printError("ERROR: \(outcome.code.status.name): \(outcome.message)")
            throw ExitCode(64 + outcome.code.rawValue)
        }
    }
}

enum CommonOptions {
    /// A `--timeout` value; it becomes each call's deadline when the call starts.
    static func timeout(_ text: String?) throws -> Duration? {
        guard let text else { return nil }
        guard let duration = parseDuration(text), duration > .zero else {
            throw ValidationError("'\(text)' is not a duration such as 500ms or 5s.")
        }
        return duration
    }

    static func callOptions(headers: [String], idempotencyKey: String?) throws -> CallOptions {
        var options = CallOptions()
        for header in headers {
            guard let colon = header.firstIndex(of: ":") else {
                throw ValidationError("Metadata '\(header)' is not of the form key:value.")
            }
            let key = header[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
            let value = header[header.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            guard Metadata.isValidKey(key) else {
                throw ValidationError("Metadata key '\(key)' may only hold 0-9 a-z _ . -")
            }
            options.metadata.addString(value, forKey: key)
        }
        options.idempotencyKey = idempotencyKey
        // CARAVAN_TOKEN(_FILE) reaches every command, `load` included; --token-file overrides it.
        if let token = try ClientSecurityOptions.bearerToken(
            file: nil, environment: ProcessInfo.processInfo.environment)
        {
            options.metadata.replaceOrAddString("Bearer " + token, forKey: "authorization")
        }
        return options
    }
}

enum Output {
    static func printJSON(_ data: Data) {
        Self.printLine(String(decoding: data, as: UTF8.self))
    }

    /// Writes a line to standard output at once (no buffering), so that a
    /// parent process reading it sees it immediately. A reader that went
    /// away (`caravan call … | head -1`) ends the command as it ends other
    /// Unix tools.
    static func printLine(_ text: String) {
        guard StandardStream.output.write(text + "\n") else { StandardStream.endAsReaderGone() }
    }

    static func printError(_ text: String) {
        StandardStream.error.write(text + "\n")
    }
}
