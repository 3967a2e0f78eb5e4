import CProtobufC

extension ProtoMessage {
    /// The protobuf wire encoding of `self`.
    @inlinable
    public func serializedBytes() throws(ProtoEncodingError) -> [UInt8] {
        try ProtoArena.withTemporaryArena { (arena) throws(ProtoEncodingError) -> [UInt8] in
            let message = try self.buildCMessage(in: arena)
            let size = protobuf_c_message_get_packed_size(message)
            if size == 0 { return [] }
            return [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
                initialized = protobuf_c_message_pack(message, buffer.baseAddress!)
            }
        }
    }

    /// Decodes a message from its protobuf wire encoding.
    ///
    /// Unknown fields are skipped (and not kept). Throws for bytes
    /// protobuf-c rejects and for string fields that are not valid UTF-8 or
    /// contain a NUL byte.
    @inlinable
    public init(serializedBytes bytes: [UInt8]) throws(ProtoDecodingError) {
        // Array.withUnsafeBytes rethrows untyped errors, and the closure
        // throws nothing but ProtoDecodingError. (A Result would cost two
        // copies of the message.)
        do {
            self = try bytes.withUnsafeBytes { buffer in try ProtoUnpacker.unpack(Self.self, from: buffer) }
        } catch {
            throw error as! ProtoDecodingError
        }
    }

    /// Decodes a message from its protobuf wire encoding in `buffer`.
    @inlinable
    public init(serializedBytes buffer: UnsafeRawBufferPointer) throws(ProtoDecodingError) {
        self = try ProtoUnpacker.unpack(Self.self, from: buffer)
    }

    /// Calls body with the packed size and a function that packs into a buffer of that size (lets a NIO transport pack straight into a ByteBuffer).
    ///
    /// The packing function writes exactly the given number of bytes to the
    /// memory it is handed, and is valid only during `body`.
    @inlinable
    public func withPacked<R>(_ body: (Int, (UnsafeMutableRawPointer) -> Void) throws -> R) throws -> R {
        try ProtoArena.withTemporaryArena { arena in
            let message = try self.buildCMessage(in: arena)
            let size = protobuf_c_message_get_packed_size(message)
            return try body(size) { destination in
                _ = protobuf_c_message_pack(message, destination.assumingMemoryBound(to: UInt8.self))
            }
        }
    }
}
