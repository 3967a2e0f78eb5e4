import CCaravanProto
import CProtobufC
import CaravanCore

/// Renders a message's fields as `.proto` lines from its protobuf-c
/// descriptor (the schema compiled into this build).
enum MessageFields {
    static func describe(_ type: any ProtoMessage.Type) -> [String] {
        let descriptor = type.protobufCDescriptor.pointee
        var lines: [String] = []
        for index in 0..<Int(descriptor.n_fields) {
            let field = descriptor.fields[index]
            let label = field.label == PROTOBUF_C_LABEL_REPEATED ? "repeated " : ""
            lines.append("\(label)\(Self.typeName(field)) \(String(cString: field.name)) = \(field.id);")
        }
        return lines
    }

    private static func typeName(_ field: ProtobufCFieldDescriptor) -> String {
        switch field.type {
        case PROTOBUF_C_TYPE_INT32: return "int32"
        case PROTOBUF_C_TYPE_SINT32: return "sint32"
        case PROTOBUF_C_TYPE_SFIXED32: return "sfixed32"
        case PROTOBUF_C_TYPE_INT64: return "int64"
        case PROTOBUF_C_TYPE_SINT64: return "sint64"
        case PROTOBUF_C_TYPE_SFIXED64: return "sfixed64"
        case PROTOBUF_C_TYPE_UINT32: return "uint32"
        case PROTOBUF_C_TYPE_FIXED32: return "fixed32"
        case PROTOBUF_C_TYPE_UINT64: return "uint64"
        case PROTOBUF_C_TYPE_FIXED64: return "fixed64"
        case PROTOBUF_C_TYPE_FLOAT: return "float"
        case PROTOBUF_C_TYPE_DOUBLE: return "double"
        case PROTOBUF_C_TYPE_BOOL: return "bool"
        case PROTOBUF_C_TYPE_STRING: return "string"
        case PROTOBUF_C_TYPE_BYTES: return "bytes"
        case PROTOBUF_C_TYPE_ENUM:
            let enumDescriptor = field.descriptor.assumingMemoryBound(to: ProtobufCEnumDescriptor.self)
            return "." + String(cString: enumDescriptor.pointee.name)
        case PROTOBUF_C_TYPE_MESSAGE:
            let messageDescriptor = field.descriptor.assumingMemoryBound(to: ProtobufCMessageDescriptor.self)
            return "." + String(cString: messageDescriptor.pointee.name)
        default:
            return "?"
        }
    }
}
