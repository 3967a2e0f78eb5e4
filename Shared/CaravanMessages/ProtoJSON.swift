/// The proto3 JSON mapping, as used by generated `Codable` conformances.
///
/// Generated `encode(to:)` writes fields under their JSON names
/// (lowerCamelCase), omits fields at their default, writes 64-bit integers
/// as strings, bytes as base64 and enums by name. Generated `init(from:)`
/// accepts the JSON name or the proto field name, strings or numbers for
/// integers, names or numbers for enums, treats missing fields and `null`
/// as defaults, and ignores unknown fields. Use any JSON coder, e.g.
/// Foundation's `JSONEncoder`/`JSONDecoder`.
public enum ProtoJSON {
    // MARK: Scalars whose JSON form differs from Codable's default

    /// An `int64`/`sint64`/`sfixed64`: a JSON string, a number accepted.
    public struct Int64Value: Codable, Sendable {
        public var value: Int64
        @inlinable public init(_ value: Int64) { self.value = value }

        public init(from decoder: any Decoder) throws {
            self.value = try ProtoJSON.decodeInteger(Int64.self, from: decoder)
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            try container.encode(String(self.value))
        }
    }

    /// A `uint64`/`fixed64`: a JSON string, a number accepted.
    public struct UInt64Value: Codable, Sendable {
        public var value: UInt64
        @inlinable public init(_ value: UInt64) { self.value = value }

        public init(from decoder: any Decoder) throws {
            self.value = try ProtoJSON.decodeInteger(UInt64.self, from: decoder)
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            try container.encode(String(self.value))
        }
    }

    /// An `int32`/`sint32`/`sfixed32`: a JSON number, a string accepted.
    public struct Int32Value: Codable, Sendable {
        public var value: Int32
        @inlinable public init(_ value: Int32) { self.value = value }

        public init(from decoder: any Decoder) throws {
            self.value = try ProtoJSON.decodeInteger(Int32.self, from: decoder)
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            try container.encode(self.value)
        }
    }

    /// A `uint32`/`fixed32`: a JSON number, a string accepted.
    public struct UInt32Value: Codable, Sendable {
        public var value: UInt32
        @inlinable public init(_ value: UInt32) { self.value = value }

        public init(from decoder: any Decoder) throws {
            self.value = try ProtoJSON.decodeInteger(UInt32.self, from: decoder)
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            try container.encode(self.value)
        }
    }

    /// A `double`: a JSON number, or "NaN", "Infinity", "-Infinity" (and
    /// "-0" for -0.0); numbers in strings accepted.
    public struct DoubleValue: Codable, Sendable {
        public var value: Double
        @inlinable public init(_ value: Double) { self.value = value }

        public init(from decoder: any Decoder) throws {
            self.value = try ProtoJSON.decodeFloatingPoint(Double.self, from: decoder)
        }

        public func encode(to encoder: any Encoder) throws {
            try ProtoJSON.encodeFloatingPoint(self.value, to: encoder)
        }
    }

    /// A `float`: a JSON number, or "NaN", "Infinity", "-Infinity" (and
    /// "-0" for -0.0); numbers in strings accepted.
    public struct FloatValue: Codable, Sendable {
        public var value: Float
        @inlinable public init(_ value: Float) { self.value = value }

        public init(from decoder: any Decoder) throws {
            self.value = try ProtoJSON.decodeFloatingPoint(Float.self, from: decoder)
        }

        public func encode(to encoder: any Encoder) throws {
            try ProtoJSON.encodeFloatingPoint(self.value, to: encoder)
        }
    }

    /// A `bytes` field: standard base64 with padding; URL-safe and
    /// unpadded input accepted.
    public struct BytesValue: Codable, Sendable {
        public var value: [UInt8]
        @inlinable public init(_ value: [UInt8]) { self.value = value }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            guard let bytes = ProtoBase64.decode(text) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "not base64: \"\(text)\"")
            }
            self.value = bytes
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            try container.encode(ProtoBase64.encode(self.value))
        }
    }

    // MARK: Enums

    /// Decodes an enum from its value name (`"SERVING"`) or number.
    public static func decodeEnum<E: ProtoEnum>(_ type: E.Type = E.self, from decoder: any Decoder) throws -> E {
        let container = try decoder.singleValueContainer()
        if let number = try? container.decode(Int32.self) {
            return E(rawValue: number)
        }
        let name = try container.decode(String.self)
        if let value = E(protoName: name) { return value }
        if let number = Int32(name) { return E(rawValue: number) }
        throw DecodingError.dataCorruptedError(
            in: container, debugDescription: "\"\(name)\" is not a value of \(E.protoEnumName)")
    }

    /// Encodes an enum as its value name, or its number when the schema
    /// does not know it.
    public static func encodeEnum<E: ProtoEnum>(_ value: E, to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if let name = value.protoName {
            try container.encode(name)
        } else {
            try container.encode(value.rawValue)
        }
    }

    // MARK: Oneofs

    /// Throws unless `unset`: proto3 JSON allows one field of a oneof.
    public static func checkOneofUnset(
        _ unset: Bool, oneof: String, in container: KeyedDecodingContainer<ProtoJSONKey>
    ) throws {
        guard unset else {
            throw DecodingError.dataCorrupted(
                DecodingError.Context(
                    codingPath: container.codingPath,
                    debugDescription: "more than one field of the oneof `\(oneof)` is set"))
        }
    }

    // MARK: Helpers

    static func decodeInteger<T: FixedWidthInteger & Decodable>(_ type: T.Type, from decoder: any Decoder) throws -> T {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self) {
            guard let value = T(text) else {
                throw DecodingError.dataCorruptedError(
                    in: container, debugDescription: "\"\(text)\" is not a \(T.self)")
            }
            return value
        }
        return try container.decode(T.self)
    }

    static func decodeFloatingPoint<T: BinaryFloatingPoint & LosslessStringConvertible & Decodable>(
        _ type: T.Type, from decoder: any Decoder
    ) throws -> T {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self) {
            switch text {
            case "NaN": return .nan
            case "Infinity": return .infinity
            case "-Infinity": return -.infinity
            default:
                guard let value = T(text), value.isFinite else {
                    throw DecodingError.dataCorruptedError(
                        in: container, debugDescription: "\"\(text)\" is not a \(T.self)")
                }
                return value
            }
        }
        return try container.decode(T.self)
    }

    static func encodeFloatingPoint<T: BinaryFloatingPoint & Encodable>(_ value: T, to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if value.isNaN {
            try container.encode("NaN")
        } else if value.isInfinite {
            try container.encode(value < 0 ? "-Infinity" : "Infinity")
        } else if value == 0 && value.sign == .minus {
            // A JSON number would come out as `-0`, which many parsers
            // (Python's among them) read as 0; proto3 JSON parsers accept
            // numbers in strings, and "-0" keeps the sign.
            try container.encode("-0")
        } else {
            try container.encode(value)
        }
    }
}

/// A JSON object key (a field's JSON name, or a map key).
public struct ProtoJSONKey: CodingKey, Hashable, Sendable, ExpressibleByStringLiteral {
    public var stringValue: String
    public var intValue: Int? { nil }

    public init(_ stringValue: String) { self.stringValue = stringValue }
    public init(stringValue: String) { self.stringValue = stringValue }
    public init?(intValue: Int) { self.stringValue = String(intValue) }
    public init(stringLiteral value: String) { self.stringValue = value }
}

/// A map key type and its proto3 JSON form (a JSON object key is always a
/// string: `"7"`, `"true"`).
public protocol ProtoMapKey: Hashable, Sendable {
    var protoJSONKey: String { get }
    init?(protoJSONKey: String)
}

extension String: ProtoMapKey {
    public var protoJSONKey: String { self }
    public init?(protoJSONKey: String) { self = protoJSONKey }
}

extension Bool: ProtoMapKey {
    public var protoJSONKey: String { self ? "true" : "false" }
    public init?(protoJSONKey: String) {
        switch protoJSONKey {
        case "true": self = true
        case "false": self = false
        default: return nil
        }
    }
}

extension Int32: ProtoMapKey {
    public var protoJSONKey: String { String(self) }
    public init?(protoJSONKey: String) { self.init(protoJSONKey) }
}

extension Int64: ProtoMapKey {
    public var protoJSONKey: String { String(self) }
    public init?(protoJSONKey: String) { self.init(protoJSONKey) }
}

extension UInt32: ProtoMapKey {
    public var protoJSONKey: String { String(self) }
    public init?(protoJSONKey: String) { self.init(protoJSONKey) }
}

extension UInt64: ProtoMapKey {
    public var protoJSONKey: String { String(self) }
    public init?(protoJSONKey: String) { self.init(protoJSONKey) }
}

extension KeyedDecodingContainer where Key == ProtoJSONKey {
    /// A field under its JSON name or, failing that, its proto name; nil
    /// when absent or `null`.
    public func decodeProto<T: Decodable>(_ type: T.Type, forKey key: ProtoJSONKey, or alternate: ProtoJSONKey? = nil)
        throws -> T?
    {
        if let value = try self.decodeIfPresent(T.self, forKey: key) { return value }
        if let alternate { return try self.decodeIfPresent(T.self, forKey: alternate) }
        return nil
    }

    /// A map field (a JSON object); nil when absent or `null`.
    public func decodeProtoMap<MapKey: ProtoMapKey, MapValue: Decodable>(
        _ keyType: MapKey.Type, _ valueType: MapValue.Type, forKey key: ProtoJSONKey, or alternate: ProtoJSONKey? = nil
    ) throws -> [MapKey: MapValue]? {
        var present: ProtoJSONKey?
        if self.contains(key), try !self.decodeNil(forKey: key) {
            present = key
        } else if let alternate, self.contains(alternate), try !self.decodeNil(forKey: alternate) {
            present = alternate
        }
        guard let present else { return nil }
        let object = try self.nestedContainer(keyedBy: ProtoJSONKey.self, forKey: present)
        var result: [MapKey: MapValue] = [:]
        result.reserveCapacity(object.allKeys.count)
        for jsonKey in object.allKeys {
            guard let mapKey = MapKey(protoJSONKey: jsonKey.stringValue) else {
                throw DecodingError.dataCorruptedError(
                    forKey: jsonKey, in: object,
                    debugDescription: "\"\(jsonKey.stringValue)\" is not a \(MapKey.self) map key")
            }
            result[mapKey] = try object.decode(MapValue.self, forKey: jsonKey)
        }
        return result
    }
}

extension KeyedEncodingContainer where Key == ProtoJSONKey {
    /// A map field as a JSON object, keys in sorted order.
    public mutating func encodeProtoMap<MapKey: ProtoMapKey, MapValue: Encodable>(
        _ map: [MapKey: MapValue], forKey key: ProtoJSONKey
    ) throws {
        var object = self.nestedContainer(keyedBy: ProtoJSONKey.self, forKey: key)
        let entries = map.map { (key: $0.key.protoJSONKey, value: $0.value) }
            .sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
        for entry in entries {
            try object.encode(entry.value, forKey: ProtoJSONKey(entry.key))
        }
    }
}
