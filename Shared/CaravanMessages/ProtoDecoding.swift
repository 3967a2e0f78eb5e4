import CCaravanProto
import CProtobufC

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Helpers generated `init(copying:)` code uses to copy protobuf-c values
/// into Swift ones.
public enum ProtoDecoding {
    /// A protobuf-c message as its protoc-c struct type.
    @inlinable
    public static func cast<T>(_ message: UnsafePointer<ProtobufCMessage>, to type: T.Type) -> UnsafePointer<T> {
        UnsafeRawPointer(message).assumingMemoryBound(to: T.self)
    }

    /// The `ProtobufCMessage` header of a protoc-c message struct.
    @inlinable
    public static func base<T>(of message: UnsafeMutablePointer<T>) -> UnsafePointer<ProtobufCMessage> {
        UnsafeRawPointer(message).assumingMemoryBound(to: ProtobufCMessage.self)
    }

    /// A string field: validated as UTF-8 and checked for interior NUL
    /// bytes (a NUL-terminated `char *` would silently drop what follows).
    @inlinable
    public static func string(_ pointer: UnsafeMutablePointer<CChar>?, field: StaticString) throws(ProtoDecodingError)
        -> String
    {
        guard let pointer, pointer != caravan_proto_empty_string() else { return "" }
        // The non-generic C-string initializer: String(validating:as:) is
        // generic in the standard library and costs metadata lookups.
        guard let string = String(validatingCString: pointer) else {
            throw ProtoDecodingError.string(.invalidUTF8, field: field)
        }
        // Strings unpacked through ProtoUnpacker (and built in a ProtoArena)
        // record their allocated length; a longer one had a NUL inside,
        // where the C string (and so `string`) stopped.
        if let recorded = ProtoBumpAllocator.recordedLength(of: pointer), recorded != string.utf8.count {
            throw ProtoDecodingError.string(.nulByteInString, field: field)
        }
        return string
    }

    /// A bytes field.
    @inlinable
    public static func bytes(_ data: ProtobufCBinaryData) -> [UInt8] {
        guard data.len > 0, let bytes = data.data else { return [] }
        return Array(UnsafeBufferPointer(start: bytes, count: data.len))
    }

    /// A repeated numeric field (the C representation is the Swift one).
    @inlinable
    public static func array<T>(_ pointer: UnsafeMutablePointer<T>?, count: Int) -> [T] {
        guard count > 0, let pointer else { return [] }
        return Array(UnsafeBufferPointer(start: pointer, count: count))
    }

    /// A repeated field whose elements need converting.
    @inlinable
    public static func map<CElement, Element, Failure: Error>(
        _ pointer: UnsafeMutablePointer<CElement>?,
        count: Int,
        _ transform: (CElement) throws(Failure) -> Element
    ) throws(Failure) -> [Element] {
        guard count > 0, let pointer else { return [] }
        var result: [Element] = []
        result.reserveCapacity(count)
        for index in 0..<count {
            result.append(try transform(pointer[index]))
        }
        return result
    }

    /// A repeated message field.
    @inlinable
    public static func messages<CMessage, Message: ProtoMessage>(
        _ pointer: UnsafeMutablePointer<UnsafeMutablePointer<CMessage>?>?,
        count: Int,
        as type: Message.Type
    ) throws(ProtoDecodingError) -> [Message] {
        try Self.map(pointer, count: count) { (element) throws(ProtoDecodingError) -> Message in
            // protobuf-c never stores NULL elements; an empty message is
            // what a NULL would mean anyway.
            guard let element else { return Message() }
            return try Message(copying: Self.base(of: element))
        }
    }

    /// A map field, from its entry messages; a repeated key keeps the last
    /// value, as protobuf requires.
    @inlinable
    public static func dictionary<CEntry, Key: Hashable, Value>(
        _ pointer: UnsafeMutablePointer<UnsafeMutablePointer<CEntry>?>?,
        count: Int,
        _ transform: (UnsafeMutablePointer<CEntry>) throws(ProtoDecodingError) -> (Key, Value)
    ) throws(ProtoDecodingError) -> [Key: Value] {
        guard count > 0, let pointer else { return [:] }
        var result: [Key: Value] = [:]
        result.reserveCapacity(count)
        for index in 0..<count {
            guard let entry = pointer[index] else { continue }
            let (key, value) = try transform(entry)
            result[key] = value
        }
        return result
    }
}
