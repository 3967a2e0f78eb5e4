/// Writes serialized messages of one call; supplied by a transport.
public struct RawMessageWriter: Sendable {
    private let writeBytes: @Sendable ([UInt8]) async throws -> Void

    public init(_ write: @escaping @Sendable ([UInt8]) async throws -> Void) {
        self.writeBytes = write
    }

    public func write(_ bytes: [UInt8]) async throws {
        try await self.writeBytes(bytes)
    }
}

/// Serialized messages arriving on one call; ends with an error for a
/// non-OK status.
public typealias RawMessageStream = AsyncThrowingStream<[UInt8], any Error>

/// Writes typed messages of one call (a response stream on a server, a
/// request stream on a client).
public struct RPCWriter<Message: ProtoMessage>: Sendable {
    private let raw: RawMessageWriter

    public init(raw: RawMessageWriter) { self.raw = raw }

    /// Serializes and sends one message; throws when the call has ended.
    public func write(_ message: Message) async throws {
        let bytes: [UInt8]
        do {
            bytes = try message.serializedBytes()
        } catch {
            throw RPCError(
                code: .internal, message: "Cannot encode \(Message.protoMessageName): \(error)", cause: error)
        }
        try await self.raw.write(bytes)
    }

    /// Sends each message in order.
    public func write(contentsOf messages: some Sequence<Message>) async throws {
        for message in messages { try await self.write(message) }
    }
}

/// Typed messages arriving on one call (requests on a server, responses on
/// a client). A message that does not decode ends it with INVALID_ARGUMENT
/// (server) or INTERNAL (client).
public struct RPCAsyncSequence<Message: ProtoMessage>: AsyncSequence, Sendable {
    public typealias Element = Message

    private let raw: RawMessageStream
    private let decodeFailureCode: RPCError.Code

    public init(raw: RawMessageStream, decodeFailureCode: RPCError.Code) {
        self.raw = raw
        self.decodeFailureCode = decodeFailureCode
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: RawMessageStream.AsyncIterator
        let decodeFailureCode: RPCError.Code

        public mutating func next() async throws -> Message? {
            guard let bytes = try await self.base.next() else { return nil }
            return try decodeMessage(Message.self, from: bytes, failureCode: self.decodeFailureCode)
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: self.raw.makeAsyncIterator(), decodeFailureCode: self.decodeFailureCode)
    }
}

/// Decodes a message, mapping protobuf errors to an RPC status.
@inlinable
public func decodeMessage<Message: ProtoMessage>(
    _ type: Message.Type,
    from bytes: [UInt8],
    failureCode: RPCError.Code
) throws(RPCError) -> Message {
    do {
        return try Message(serializedBytes: bytes)
    } catch {
        throw RPCError(
            code: failureCode,
            message: "The payload is not a valid \(Message.protoMessageName): \(error)",
            cause: error
        )
    }
}

/// Encodes a message, mapping protobuf errors to an RPC status.
@inlinable
public func encodeMessage<Message: ProtoMessage>(
    _ message: Message,
    failureCode: RPCError.Code
) throws(RPCError) -> [UInt8] {
    do {
        return try message.serializedBytes()
    } catch {
        throw RPCError(
            code: failureCode,
            message: "Cannot encode \(Message.protoMessageName): \(error)",
            cause: error
        )
    }
}
