import CCaravanProto
import CProtobufC

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Memory for one encode: the protobuf-c tree of a message is built here,
/// packed, and released with the arena.
///
/// Generated `buildCMessage(in:)` code allocates C structs, arrays and
/// NUL-terminated copies of strings from it by bumping a pointer. The first
/// block is malloc'd (on the stack inside `serializedBytes()` and
/// `withPacked(_:)`), more blocks are malloc'd as needed, and all are freed
/// on `deinit`; nothing is freed one by one. An arena serves one encode on
/// one thread, so it is not `Sendable`.
public final class ProtoArena {
    /// The allocator state lives at the start of the first block, behind a
    /// `let` pointer, so bump allocation costs no exclusivity check.
    @usableFromInline let state: UnsafeMutablePointer<ProtoBumpAllocator>
    /// Whether the first block was malloc'd here (else it is borrowed).
    @usableFromInline let ownsFirstBlock: Bool

    /// Creates an arena whose first block holds `capacity` bytes; more
    /// blocks are added as needed.
    public init(capacity: Int = 512) {
        let size = MemoryLayout<ProtoBumpAllocator>.stride + Swift.max(capacity, 64)
        guard let raw = malloc(size) else { fatalError("ProtoArena: out of memory (\(size) bytes)") }
        self.state = Self.initializeState(in: UnsafeMutableRawBufferPointer(start: raw, count: size))
        self.ownsFirstBlock = true
    }

    /// Creates an arena whose first block is `block` (stack memory, in
    /// `serializedBytes()`), which saves a malloc per encode. The arena must
    /// not outlive `block`: only this module's encoding entry points use it,
    /// and they drop the arena before the block goes.
    @usableFromInline
    init(borrowing block: UnsafeMutableRawBufferPointer) {
        self.state = Self.initializeState(in: block)
        self.ownsFirstBlock = false
    }

    @usableFromInline
    static func initializeState(in block: UnsafeMutableRawBufferPointer) -> UnsafeMutablePointer<ProtoBumpAllocator> {
        let headerSize = MemoryLayout<ProtoBumpAllocator>.stride
        let state = block.baseAddress!.bindMemory(to: ProtoBumpAllocator.self, capacity: 1)
        state.initialize(
            to: ProtoBumpAllocator(
                block: UnsafeMutableRawBufferPointer(
                    start: block.baseAddress! + headerSize, count: block.count - headerSize)))
        return state
    }

    deinit {
        self.state.pointee.releaseOverflow()
        self.state.deinitialize(count: 1)
        if self.ownsFirstBlock { free(self.state) }
    }

    /// Uninitialized, 8-byte aligned memory for `byteCount` bytes.
    @inlinable
    public func allocate(byteCount: Int) -> UnsafeMutableRawPointer {
        guard let raw = self.state.pointee.allocate(byteCount: byteCount) else {
            fatalError("ProtoArena: out of memory (\(byteCount) bytes)")
        }
        return raw
    }

    /// Uninitialized memory for one `T` (a protobuf-c struct).
    @inlinable
    public func allocate<T>(_ type: T.Type) -> UnsafeMutablePointer<T> {
        self.allocate(byteCount: MemoryLayout<T>.stride).bindMemory(to: T.self, capacity: 1)
    }

    /// Uninitialized memory for `count` values of `T`.
    @inlinable
    public func allocate<T>(_ type: T.Type, count: Int) -> UnsafeMutablePointer<T> {
        self.allocate(byteCount: MemoryLayout<T>.stride * count).bindMemory(to: T.self, capacity: count)
    }

    // MARK: Field values

    /// A NUL-terminated copy of `string` for a plain string field; `""` is
    /// protobuf-c's shared empty string (the field's default, not encoded).
    ///
    /// Throws when `string` contains a NUL byte, which a `char *` cannot carry.
    @inlinable
    public func string(_ string: String, field: StaticString) throws(ProtoEncodingError) -> UnsafeMutablePointer<CChar>?
    {
        if string.isEmpty { return caravan_proto_empty_string() }
        return try self.presentString(string, field: field)
    }

    /// A NUL-terminated copy of `string` that is never protobuf-c's shared
    /// empty string: protobuf-c skips a oneof (or `optional`) string that
    /// points at the shared default, so a set `""` must have its own copy.
    @inlinable
    public func presentString(_ string: String, field: StaticString) throws(ProtoEncodingError) -> UnsafeMutablePointer<
        CChar
    >? {
        var string = string
        // Native Swift strings are contiguous UTF-8; withUTF8 only copies
        // the rare bridged or non-contiguous one.
        guard let copy = string.withUTF8({ self.copyCString($0) }) else {
            throw ProtoEncodingError(code: .nulByteInString, field: field)
        }
        return copy
    }

    /// A NUL-terminated copy of `utf8`; nil when it contains a NUL byte.
    @inlinable
    func copyCString(_ utf8: UnsafeBufferPointer<UInt8>) -> UnsafeMutablePointer<CChar>? {
        let count = utf8.count
        if count > 0, memchr(utf8.baseAddress!, 0, count) != nil {
            return nil
        }
        guard let raw = self.state.pointee.allocateWithHeader(byteCount: count + 1) else {
            fatalError("ProtoArena: out of memory (\(count + 1) bytes)")
        }
        if count > 0 { raw.copyMemory(from: utf8.baseAddress!, byteCount: count) }
        raw.storeBytes(of: 0, toByteOffset: count, as: UInt8.self)
        return raw.bindMemory(to: CChar.self, capacity: count + 1)
    }

    /// A copy of `bytes` for a bytes field.
    @inlinable
    public func bytes(_ bytes: [UInt8]) -> ProtobufCBinaryData {
        let count = bytes.count
        if count == 0 { return ProtobufCBinaryData(len: 0, data: nil) }
        let raw = self.allocate(byteCount: count)
        bytes.withUnsafeBytes { raw.copyMemory(from: $0.baseAddress!, byteCount: count) }
        return ProtobufCBinaryData(len: count, data: raw.assumingMemoryBound(to: UInt8.self))
    }

    /// A copy of the elements of a repeated numeric field (their C
    /// representation is the Swift one); nil when empty.
    @inlinable
    public func copy<T: BitwiseCopyable>(_ values: [T]) -> UnsafeMutablePointer<T>? {
        let count = values.count
        if count == 0 { return nil }
        let pointer = self.allocate(T.self, count: count)
        values.withUnsafeBufferPointer { pointer.initialize(from: $0.baseAddress!, count: count) }
        return pointer
    }

    /// The C representations of the elements of a repeated field; nil when
    /// empty.
    @inlinable
    public func map<Element, CElement, Failure: Error>(
        _ values: some Collection<Element>,
        _ transform: (Element) throws(Failure) -> CElement
    ) throws(Failure) -> UnsafeMutablePointer<CElement>? {
        let count = values.count
        if count == 0 { return nil }
        let pointer = self.allocate(CElement.self, count: count)
        var index = 0
        for value in values {
            (pointer + index).initialize(to: try transform(value))
            index += 1
        }
        return pointer
    }

    /// Runs `body` with an arena whose first block is on the stack; the
    /// arena is released before this returns.
    @inlinable
    static func withTemporaryArena<Result, Failure: Error>(
        _ body: (ProtoArena) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        // 1024 bytes: withUnsafeTemporaryAllocation uses the stack up to
        // that size and the heap above it.
        try withUnsafeTemporaryAllocation(byteCount: 1024, alignment: 16) { (block) throws(Failure) -> Result in
            var arena = ProtoArena(borrowing: block)
            defer {
                // The arena must die with the block it borrows: trap rather
                // than leave a reference to stack memory behind.
                precondition(isKnownUniquelyReferenced(&arena), "a ProtoArena outlived its encode")
            }
            return try body(arena)
        }
    }

    // MARK: Pointer conversions

    /// The `ProtobufCMessage` header of a protoc-c message struct (its first
    /// member).
    @inlinable
    public static func base<T>(of message: UnsafeMutablePointer<T>) -> UnsafeMutablePointer<ProtobufCMessage> {
        UnsafeMutableRawPointer(message).assumingMemoryBound(to: ProtobufCMessage.self)
    }

    /// A message built by `buildCMessage(in:)`, as its protoc-c struct type.
    @inlinable
    public static func cast<T>(_ message: UnsafeMutablePointer<ProtobufCMessage>, to type: T.Type)
        -> UnsafeMutablePointer<T>
    {
        UnsafeMutableRawPointer(message).assumingMemoryBound(to: T.self)
    }
}
