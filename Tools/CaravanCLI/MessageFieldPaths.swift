import CCaravanProto
import CProtobufC
import CaravanCore

/// Checks field names against a message's protobuf-c descriptor (the schema
/// compiled into this build), because the proto3 JSON decoder ignores
/// unknown fields: a misspelt field in a scenario would otherwise be sent
/// as its default without a word.
enum MessageFieldPaths {
    typealias Descriptor = UnsafePointer<ProtobufCMessageDescriptor>

    /// The JSON paths in `json` (parsed with JSONSerialization) that name
    /// no field of the message `descriptor` describes, e.g. `flow.cuntry`.
    static func unknownFields(in json: Any, of descriptor: Descriptor, at prefix: String = "") -> [String] {
        guard let object = json as? [String: Any] else { return [] }
        var unknown: [String] = []
        for (key, value) in object.sorted(by: { $0.key < $1.key }) {
            let path = prefix.isEmpty ? key : prefix + "." + key
            guard let field = Self.field(named: key, in: descriptor) else {
                unknown.append(path)
                continue
            }
            guard let nested = Self.messageDescriptor(of: field), !Self.isMapEntry(nested) else { continue }
            let elements = field.label == PROTOBUF_C_LABEL_REPEATED ? (value as? [Any] ?? []) : [value]
            for element in elements {
                unknown += Self.unknownFields(in: element, of: nested, at: path)
            }
        }
        return unknown
    }

    /// The JSON names along `dotted` (proto or JSON names, e.g.
    /// `shipment.id` or `programs.id`), which must end at a scalar field;
    /// repeated messages along the way are allowed (every element is read).
    static func jsonPath(_ dotted: String, in descriptor: Descriptor) throws(ScenarioError) -> [String] {
        let names = dotted.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        var current = descriptor
        var path: [String] = []
        for (index, name) in names.enumerated() {
            let messageName = String(cString: current.pointee.name)
            guard let field = Self.field(named: name, in: current) else {
                throw ScenarioError("\(messageName) has no field '\(name)' (in '\(dotted)')")
            }
            path.append(Self.jsonName(String(cString: field.name)))
            let nested = Self.messageDescriptor(of: field)
            if index == names.count - 1 {
                guard nested == nil else {
                    throw ScenarioError("'\(dotted)' ends at a message; name one of its fields")
                }
            } else {
                guard let nested, !Self.isMapEntry(nested) else {
                    throw ScenarioError("'\(name)' in '\(dotted)' is not a message field, so it has no fields")
                }
                current = nested
            }
        }
        return path
    }

    /// `from_city_id` → `fromCityId`: the proto3 JSON name.
    static func jsonName(_ protoName: String) -> String {
        let parts = protoName.split(separator: "_")
        guard let first = parts.first else { return protoName }
        return String(first) + parts.dropFirst().map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
    }

    /// The field called `name` in proto (`city_id`) or JSON (`cityId`) form.
    private static func field(named name: String, in descriptor: Descriptor) -> ProtobufCFieldDescriptor? {
        let fields = descriptor.pointee
        for index in 0..<Int(fields.n_fields) {
            let field = fields.fields[index]
            let protoName = String(cString: field.name)
            if protoName == name || Self.jsonName(protoName) == name { return field }
        }
        return nil
    }

    private static func messageDescriptor(of field: ProtobufCFieldDescriptor) -> Descriptor? {
        guard field.type == PROTOBUF_C_TYPE_MESSAGE, let raw = field.descriptor else { return nil }
        return UnsafePointer(raw.assumingMemoryBound(to: ProtobufCMessageDescriptor.self))
    }

    /// protoc-c turns `map<K, V>` into a repeated `…Entry` message whose
    /// JSON form is an object keyed by map key, not by field name.
    private static func isMapEntry(_ descriptor: Descriptor) -> Bool {
        String(cString: descriptor.pointee.name).hasSuffix("Entry") && descriptor.pointee.n_fields == 2
            && String(cString: descriptor.pointee.fields[0].name) == "key"
    }
}
