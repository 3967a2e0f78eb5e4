#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A bump allocator over one first block plus malloc'd overflow blocks;
/// everything is released at once.
///
/// Both directions use it: ``ProtoArena`` when encoding, and the allocator
/// ``ProtoUnpacker`` hands to protobuf-c when decoding (there with a header
/// on every allocation). It is a plain struct reached through a pointer, so
/// the hot path has no reference counting and no exclusivity checks.
///
/// Strings carry a header: the 8 bytes before every string this allocator
/// hands out hold ``stringTag`` and the allocation size. protobuf-c
/// allocates `length + 1` bytes for each string it decodes and keeps no
/// length, so the header is how decoding tells a string with an interior
/// NUL (which `strlen` would silently cut) from a clean one.
@usableFromInline
struct ProtoBumpAllocator {
    @usableFromInline var cursor: UnsafeMutableRawPointer
    @usableFromInline var limit: UnsafeMutableRawPointer
    /// Overflow blocks, linked through their first word.
    @usableFromInline var overflow: UnsafeMutableRawPointer?
    /// The size of the next overflow block; doubles each time.
    @usableFromInline var nextBlockSize: Int
    /// Set when malloc failed (decoding reports it instead of trapping).
    @usableFromInline var failed: Bool

    /// Marks the 8-byte size header in front of an allocation.
    @usableFromInline static let stringTag: UInt64 = 0xCA7A_5A1E << 32

    /// Alignment of every allocation: enough for any protobuf-c struct
    /// (pointers, 64-bit integers, doubles).
    @usableFromInline static let alignment = 8

    @inlinable
    init(block: UnsafeMutableRawBufferPointer) {
        let base = block.baseAddress!
        let start = base.alignedUp(toMultipleOf: Self.alignment)
        self.cursor = start
        self.limit = base + block.count
        self.overflow = nil
        self.nextBlockSize = Swift.max(4096, block.count * 2)
        self.failed = false
    }

    /// `byteCount` bytes aligned to 8; nil only when malloc fails.
    @inlinable
    mutating func allocate(byteCount: Int) -> UnsafeMutableRawPointer? {
        let rounded = (byteCount + 7) & ~7
        if rounded <= self.limit - self.cursor {
            let result = self.cursor
            self.cursor += rounded
            return result
        }
        return self.allocateSlow(byteCount: rounded)
    }

    /// `byteCount` bytes preceded by a tagged size header (see the type's
    /// documentation); nil only when malloc fails.
    @inlinable
    mutating func allocateWithHeader(byteCount: Int) -> UnsafeMutableRawPointer? {
        guard let raw = self.allocate(byteCount: byteCount + 8) else { return nil }
        raw.storeBytes(
            of: Self.stringTag | UInt64(truncatingIfNeeded: UInt32(truncatingIfNeeded: byteCount)), as: UInt64.self)
        return raw + 8
    }

    @usableFromInline
    mutating func allocateSlow(byteCount: Int) -> UnsafeMutableRawPointer? {
        // Big allocations (a large bytes field) get a block of their own, so
        // the current block keeps serving small ones.
        let header = 16
        if byteCount > self.nextBlockSize / 2 {
            guard let block = malloc(header + byteCount) else {
                self.failed = true
                return nil
            }
            self.link(block)
            return block + header
        }
        let size = self.nextBlockSize
        guard let block = malloc(size) else {
            self.failed = true
            return nil
        }
        self.link(block)
        self.nextBlockSize = size * 2
        let start = block + header
        self.cursor = start + byteCount
        self.limit = block + size
        return start
    }

    @usableFromInline
    mutating func link(_ block: UnsafeMutableRawPointer) {
        block.storeBytes(of: self.overflow, as: UnsafeMutableRawPointer?.self)
        self.overflow = block
    }

    /// Frees the overflow blocks (the first block belongs to the caller).
    @usableFromInline
    func releaseOverflow() {
        var next = self.overflow
        while let block = next {
            next = block.load(as: UnsafeMutableRawPointer?.self)
            free(block)
        }
    }

    /// The length of a NUL-terminated string this allocator made, as
    /// recorded in its header; nil when `string` carries no header.
    ///
    /// Reads the 8 bytes in front of `string`. For strings from elsewhere
    /// those belong to their allocator (glibc keeps a chunk size there,
    /// far below the tag) or to protobuf-c's static empty string, which
    /// callers check for first.
    @inlinable
    static func recordedLength(of string: UnsafePointer<CChar>) -> Int? {
        let header = UnsafeRawPointer(string).loadUnaligned(fromByteOffset: -8, as: UInt64.self)
        guard header & 0xFFFF_FFFF_0000_0000 == Self.stringTag else { return nil }
        let size = Int(truncatingIfNeeded: header & 0xFFFF_FFFF)
        return size - 1
    }
}
