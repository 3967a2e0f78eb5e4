import CProtobufC

/// A protobuf message whose wire encoding is done by libprotobuf-c.
///
/// Conforming types are generated from `Proto/**/*.proto` by
/// `Proto/generate.sh`; nobody writes a conformance by hand. Encoding builds
/// the protobuf-c tree in a ``ProtoArena``, packs it and drops the arena;
/// decoding unpacks with protobuf-c, copies into Swift values and frees once.
public protocol ProtoMessage: Sendable, Equatable, Codable {
    /// A message with every field at its default.
    init()

    /// The fully qualified protobuf name, e.g. `caravan.echo.v1.EchoRequest`.
    static var protoMessageName: String { get }

    /// The protobuf-c descriptor of this message (an address taken in C).
    static var protobufCDescriptor: UnsafePointer<ProtobufCMessageDescriptor> { get }

    /// Builds the protobuf-c representation of `self` in `arena`.
    ///
    /// The result lives as long as `arena`. Throws ``ProtoEncodingError``
    /// for values protobuf-c cannot carry (a string with an interior NUL).
    func buildCMessage(in arena: ProtoArena) throws(ProtoEncodingError) -> UnsafeMutablePointer<ProtobufCMessage>

    /// Copies a protobuf-c message of this type into Swift values.
    ///
    /// Throws for string fields that are not valid UTF-8. A string with an
    /// interior NUL byte is detected (and rejected) when the tree was
    /// unpacked by ``init(serializedBytes:)-(UnsafeRawBufferPointer)`` or
    /// built in a ``ProtoArena``, whose allocations record their length;
    /// protobuf-c's own allocator keeps no length, so such a string would
    /// end at the NUL.
    init(copying cMessage: UnsafePointer<ProtobufCMessage>) throws(ProtoDecodingError)
}
