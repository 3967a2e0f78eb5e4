import CProtobufC

/// protobuf-c's enum constants (`protobuf-c.h`), by value. This package
/// reaches CProtobufC only through the main package's modules, and there
/// the importer shows its types but not its `PROTOBUF_C_*` constants; the
/// values are part of protobuf-c's ABI, so they cannot change under us.
enum ProtobufC {
    static let labelRepeated = ProtobufCLabel(rawValue: 2)
    static let fieldFlagOneof: UInt32 = 1 << 2

    static let typeInt32 = ProtobufCType(rawValue: 0)
    static let typeSInt32 = ProtobufCType(rawValue: 1)
    static let typeSFixed32 = ProtobufCType(rawValue: 2)
    static let typeInt64 = ProtobufCType(rawValue: 3)
    static let typeSInt64 = ProtobufCType(rawValue: 4)
    static let typeSFixed64 = ProtobufCType(rawValue: 5)
    static let typeUInt32 = ProtobufCType(rawValue: 6)
    static let typeFixed32 = ProtobufCType(rawValue: 7)
    static let typeUInt64 = ProtobufCType(rawValue: 8)
    static let typeFixed64 = ProtobufCType(rawValue: 9)
    static let typeFloat = ProtobufCType(rawValue: 10)
    static let typeDouble = ProtobufCType(rawValue: 11)
    static let typeBool = ProtobufCType(rawValue: 12)
    static let typeEnum = ProtobufCType(rawValue: 13)
    static let typeString = ProtobufCType(rawValue: 14)
    static let typeBytes = ProtobufCType(rawValue: 15)
    static let typeMessage = ProtobufCType(rawValue: 16)
}
