import CCaravanProto
import CProtobufC

/// Runs `protobuf_c_message_unpack` with an arena allocator and copies the
/// result into a Swift value.
///
/// protobuf-c allocates every string, array and sub-message of the tree
/// separately; here they all come from one bump allocator whose first block
/// is on the stack, so a typical message costs no malloc at all and the
/// whole tree is dropped at once (protobuf-c's own frees are no-ops).
@usableFromInline
enum ProtoUnpacker {
    /// Stack space for the unpacked tree; bigger trees spill to malloc'd
    /// blocks. Not more: withUnsafeTemporaryAllocation uses the heap above
    /// 1024 bytes, which costs more than the malloc it saves.
    @usableFromInline static let stackBytes = 1024

    @inlinable
    static func unpack<Message: ProtoMessage>(
        _ type: Message.Type,
        from buffer: UnsafeRawBufferPointer
    ) throws(ProtoDecodingError) -> Message {
        try withUnsafeTemporaryAllocation(byteCount: Self.stackBytes, alignment: 16) {
            (stack) throws(ProtoDecodingError) -> Message in
            var arena = ProtoBumpAllocator(block: stack)
            defer { arena.releaseOverflow() }
            return try withUnsafeMutablePointer(to: &arena) { (arena) throws(ProtoDecodingError) -> Message in
                // Every allocation gets a size header (see ProtoBumpAllocator):
                // that is how string lengths are recovered. `free` is a no-op;
                // the arena is released as a whole.
                var allocator = ProtobufCAllocator(
                    alloc: { data, size in
                        data!.assumingMemoryBound(to: ProtoBumpAllocator.self).pointee.allocateWithHeader(
                            byteCount: size)
                    },
                    free: { _, _ in },
                    allocator_data: UnsafeMutableRawPointer(arena))
                // protobuf-c never gets a NULL data pointer, not even for
                // zero bytes.
                var empty: UInt8 = 0
                let message = withUnsafeMutablePointer(to: &empty) { emptyPointer in
                    protobuf_c_message_unpack(
                        Message.protobufCDescriptor,
                        &allocator,
                        buffer.count,
                        buffer.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? UnsafePointer(emptyPointer))
                }
                guard let message else {
                    throw ProtoDecodingError.malformed(
                        Message.protoMessageName, byteCount: buffer.count, outOfMemory: arena.pointee.failed)
                }
                return try Message(copying: message)
            }
        }
    }
}
