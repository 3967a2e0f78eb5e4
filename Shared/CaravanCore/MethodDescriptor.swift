/// Names one method of one service.
public struct MethodDescriptor: Hashable, Sendable, CustomStringConvertible {
    /// Fully qualified service name, e.g. `caravan.echo.v1.Echo`.
    public let service: String
    /// Method name, e.g. `Unary`.
    public let method: String
    /// The path carried on the wire: `/caravan.echo.v1.Echo/Unary`.
    public let path: String

    public init(service: String, method: String) {
        self.service = service
        self.method = method
        self.path = "/\(service)/\(method)"
    }

    /// Parses `/package.Service/Method` (the leading slash is optional).
    public init?(path: String) {
        // Split on the scalar `/`, not on Characters: a name beginning with
        // a combining mark would join the slash before it into one grapheme,
        // and a descriptor would not read back from its own path.
        var scalars = Substring(path).unicodeScalars
        if scalars.first == "/" { scalars = scalars.dropFirst() }
        guard let slash = scalars.lastIndex(of: "/") else { return nil }
        let service = scalars[..<slash]
        let method = scalars[scalars.index(after: slash)...]
        guard !service.isEmpty, !method.isEmpty else { return nil }
        self.init(service: String(Substring(service)), method: String(Substring(method)))
    }

    public var description: String { self.path }
}

/// How requests and responses flow in a method.
public enum MethodKind: String, Hashable, Sendable {
    case unary
    case serverStreaming
    case clientStreaming
    case bidirectionalStreaming

    public var clientStreams: Bool { self == .clientStreaming || self == .bidirectionalStreaming }
    public var serverStreams: Bool { self == .serverStreaming || self == .bidirectionalStreaming }
}

/// A method's schema: its names, kind and message types.
public struct MethodSchema: Sendable {
    public let descriptor: MethodDescriptor
    public let kind: MethodKind
    public let inputType: any ProtoMessage.Type
    public let outputType: any ProtoMessage.Type

    public init(
        descriptor: MethodDescriptor,
        kind: MethodKind,
        inputType: any ProtoMessage.Type,
        outputType: any ProtoMessage.Type
    ) {
        self.descriptor = descriptor
        self.kind = kind
        self.inputType = inputType
        self.outputType = outputType
    }
}

/// A service's schema, generated from its `.proto` file: methods for
/// routing and tools, file descriptors for reflection.
public struct ServiceSchema: Sendable {
    /// `caravan.echo.v1.Echo`
    public let name: String
    /// `caravan/echo/v1/echo.proto`
    public let file: String
    public let methods: [MethodSchema]
    /// Serialized `google.protobuf.FileDescriptorProto`s: the declaring file
    /// first, then its imports.
    public let fileDescriptorProtos: [[UInt8]]

    public init(name: String, file: String, methods: [MethodSchema], fileDescriptorProtos: [[UInt8]]) {
        self.name = name
        self.file = file
        self.methods = methods
        self.fileDescriptorProtos = fileDescriptorProtos
    }
}
