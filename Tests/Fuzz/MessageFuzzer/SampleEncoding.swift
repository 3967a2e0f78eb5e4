import CProtobufC

/// A protobuf encoding of a message with every field set, built from its
/// protobuf-c descriptor, so that seeds cover every field of every type and
/// follow the .proto files without anyone keeping them in step.
///
/// Repeated fields get two elements; of each oneof, only the member that
/// `variant` picks (modulo the oneof's size) is set; sub-messages are
/// filled down to `maxDepth` and empty below it.
struct SampleEncoding {
    typealias FieldDescriptors = UnsafeBufferPointer<ProtobufCFieldDescriptor>

    let variant: Int
    var maxDepth = 3

    func encode(_ descriptor: UnsafePointer<ProtobufCMessageDescriptor>, depth: Int = 0) -> [UInt8] {
        var wire = WireWriter()
        guard depth < maxDepth else { return wire.bytes }
        let fields = UnsafeBufferPointer(start: descriptor.pointee.fields, count: Int(descriptor.pointee.n_fields))
        for field in fields where self.isChosen(field, among: fields) {
            let count = field.label == ProtobufC.labelRepeated ? 2 : 1
            for element in 0..<count {
                self.write(field, element: element, depth: depth, into: &wire)
            }
        }
        return wire.bytes
    }

    /// A field outside any oneof, or the oneof member this variant sets.
    /// Members of a oneof share their `quantifier_offset` (the case field).
    private func isChosen(_ field: ProtobufCFieldDescriptor, among fields: FieldDescriptors) -> Bool {
        guard field.flags & ProtobufC.fieldFlagOneof != 0 else { return true }
        let members = fields.filter {
            $0.flags & ProtobufC.fieldFlagOneof != 0 && $0.quantifier_offset == field.quantifier_offset
        }
        return members[self.variant % members.count].id == field.id
    }

    private func write(_ field: ProtobufCFieldDescriptor, element: Int, depth: Int, into wire: inout WireWriter) {
        let signed: Int64 = element == 0 ? 7 : -3
        switch field.type {
        case ProtobufC.typeInt32, ProtobufC.typeInt64:
            wire.varintField(field.id, UInt64(bitPattern: signed))
        case ProtobufC.typeUInt32, ProtobufC.typeUInt64:
            wire.varintField(field.id, element == 0 ? 7 : 300)
        case ProtobufC.typeSInt32, ProtobufC.typeSInt64:
            wire.varintField(field.id, UInt64(bitPattern: (signed << 1) ^ (signed >> 63)))
        case ProtobufC.typeBool:
            wire.varintField(field.id, 1)
        case ProtobufC.typeEnum:
            wire.varintField(field.id, UInt64(bitPattern: Int64(Self.enumValue(field, element: element))))
        case ProtobufC.typeFixed32, ProtobufC.typeSFixed32:
            wire.fixed32Field(field.id, UInt32(bitPattern: Int32(signed)))
        case ProtobufC.typeFloat:
            wire.fixed32Field(field.id, (Float(signed) / 4).bitPattern)
        case ProtobufC.typeFixed64, ProtobufC.typeSFixed64:
            wire.fixed64Field(field.id, UInt64(bitPattern: signed))
        case ProtobufC.typeDouble:
            wire.fixed64Field(field.id, (Double(signed) / 8).bitPattern)
        case ProtobufC.typeString:
            wire.lengthDelimitedField(field.id, Array("seed-\(element)-\u{e9}".utf8))
        case ProtobufC.typeBytes:
            wire.lengthDelimitedField(field.id, [0x00, 0xFF, UInt8(element)])
        case ProtobufC.typeMessage:
            let nested = field.descriptor!.assumingMemoryBound(to: ProtobufCMessageDescriptor.self)
            wire.lengthDelimitedField(field.id, self.encode(nested, depth: depth + 1))
        default:
            fatalError("a field type this encoder does not know: \(field.type.rawValue)")
        }
    }

    /// The enum's last value (usually not the zero default), then its first.
    private static func enumValue(_ field: ProtobufCFieldDescriptor, element: Int) -> Int32 {
        let descriptor = field.descriptor!.assumingMemoryBound(to: ProtobufCEnumDescriptor.self).pointee
        guard descriptor.n_values > 0 else { return 0 }
        let index = element == 0 ? Int(descriptor.n_values) - 1 : 0
        return descriptor.values[index].value
    }
}

/// The protobuf wire format, for the few shapes `SampleEncoding` writes.
struct WireWriter {
    private(set) var bytes: [UInt8] = []

    mutating func varintField(_ id: UInt32, _ value: UInt64) {
        self.varint(UInt64(id) << 3)
        self.varint(value)
    }

    mutating func fixed32Field(_ id: UInt32, _ value: UInt32) {
        self.varint(UInt64(id) << 3 | 5)
        withUnsafeBytes(of: value.littleEndian) { self.bytes += $0 }
    }

    mutating func fixed64Field(_ id: UInt32, _ value: UInt64) {
        self.varint(UInt64(id) << 3 | 1)
        withUnsafeBytes(of: value.littleEndian) { self.bytes += $0 }
    }

    mutating func lengthDelimitedField(_ id: UInt32, _ value: [UInt8]) {
        self.varint(UInt64(id) << 3 | 2)
        self.varint(UInt64(value.count))
        self.bytes += value
    }

    private mutating func varint(_ value: UInt64) {
        var rest = value
        while rest >= 0x80 {
            self.bytes.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        self.bytes.append(UInt8(rest))
    }
}
