import CaravanCore
import Foundation

/// Builds a request message from URL query parameters, as grpc-gateway
/// does for `GET`: `?shipmentId=s-1&filter.country=KZ&filter.direction=DIRECTION_EXPORT`.
///
/// A name is a field's proto3 JSON name (or its proto name), dotted for a
/// field of a nested message; a repeated field takes one parameter per
/// element. The generated `init(from:)` asks for each field by its Swift
/// type, so a value is read as that type reads text: numbers in decimal,
/// `true`/`false`, enum value names or numbers, base64 for bytes. A name no
/// field takes, a value given twice for a singular field, or a value of the
/// wrong form is an error that names the parameter.
///
/// Public for Tests/Fuzz (HTTPDoorFuzzer): the query is a client's text.
public enum QueryParameterDecoder {
    public static func decode<Message: ProtoMessage>(_ type: Message.Type, from parameters: [(String, String)]) throws
        -> Message
    {
        let query = Query(parameters)
        let message: Message
        do {
            message = try Message(from: QueryDecoder(query: query, name: "", values: []))
        } catch let error as DecodingError {
            // The generated decoders' own errors (an unknown enum name, a
            // number out of range) carry the field's path.
            throw QueryParameterError(error)
        }
        if let unknown = query.unused.first {
            throw QueryParameterError("no field of \(Message.protoMessageName) is named \"\(unknown)\"")
        }
        return message
    }
}

/// Why the query does not make a request (public for HTTPDoorFuzzer,
/// which requires every refusal to be one of these).
public struct QueryParameterError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }

    init(_ error: DecodingError) {
        let context: DecodingError.Context
        switch error {
        case .dataCorrupted(let c), .keyNotFound(_, let c), .typeMismatch(_, let c), .valueNotFound(_, let c):
            context = c
        @unknown default: self.init("\(error)"); return
        }
        let name = context.codingPath.map(\.stringValue).joined(separator: ".")
        self.init("\(name): \(context.debugDescription)")
    }
}

/// The coding path of a dotted parameter name.
private func queryCodingPath(_ name: String) -> [any CodingKey] {
    name.split(separator: ".").map { ProtoJSONKey(String($0)) }
}

/// The parameters by name, and which of them a field has taken.
private final class Query {
    let values: [String: [String]]
    private var used: Set<String> = []

    init(_ parameters: [(String, String)]) {
        var values: [String: [String]] = [:]
        for (name, value) in parameters { values[name, default: []].append(value) }
        self.values = values
    }

    /// The values given for `name`, marked as taken.
    func take(_ name: String) -> [String]? {
        guard let values = self.values[name] else { return nil }
        self.used.insert(name)
        return values
    }

    /// Whether `name` or a field under `name.` is given.
    func has(_ name: String) -> Bool {
        self.values[name] != nil || self.values.keys.contains { $0.hasPrefix(name + ".") }
    }

    /// The names directly under `prefix` (`filter.` → `country`, `direction`).
    func children(of prefix: String) -> Set<String> {
        Set(
            self.values.keys.compactMap { name in
                guard name.hasPrefix(prefix) else { return nil }
                return String(name.dropFirst(prefix.count).prefix { $0 != "." })
            })
    }

    var unused: [String] { self.values.keys.filter { !self.used.contains($0) }.sorted() }
}

/// Reads one value as the type asks for it.
private func parse<T>(_ text: String, as type: T.Type, name: String) throws -> T {
    let value: Any?
    switch type {
    case is String.Type: value = text
    case is Bool.Type: value = text == "true" ? true : text == "false" ? false : nil
    case is Double.Type: value = Double(text)
    case is Float.Type: value = Float(text)
    case is Int.Type: value = Int(text)
    case is Int32.Type: value = Int32(text)
    case is Int64.Type: value = Int64(text)
    case is UInt.Type: value = UInt(text)
    case is UInt32.Type: value = UInt32(text)
    case is UInt64.Type: value = UInt64(text)
    default: throw QueryParameterError("\(name) cannot be given as a query parameter")
    }
    guard let typed = value as? T else { throw QueryParameterError("\(name)=\(text) is not a \(type)") }
    return typed
}

/// The decoder for one name: its values (a scalar or repeated field) or
/// the names under it (a message field).
private struct QueryDecoder: Decoder {
    let query: Query
    let name: String
    let values: [String]
    var codingPath: [any CodingKey] { queryCodingPath(self.name) }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard self.values.isEmpty else {
            throw QueryParameterError("\(self.name) is a message: set its fields as \(self.name).FIELD=…")
        }
        return KeyedDecodingContainer(
            QueryKeyedContainer<Key>(query: self.query, prefix: self.name.isEmpty ? "" : self.name + "."))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        QueryUnkeyedContainer(name: self.name, values: self.values)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        guard self.values.count == 1 else {
            throw QueryParameterError("\(self.name) is given \(self.values.count) times; it takes one value")
        }
        return QuerySingleValue(name: self.name, text: self.values[0])
    }
}

private struct QueryKeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let query: Query
    let prefix: String
    var codingPath: [any CodingKey] { queryCodingPath(self.prefix) }

    var allKeys: [Key] { self.query.children(of: self.prefix).sorted().compactMap { Key(stringValue: $0) } }
    func contains(_ key: Key) -> Bool { self.query.has(self.prefix + key.stringValue) }
    func decodeNil(forKey key: Key) throws -> Bool { !self.contains(key) }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        let name = self.prefix + key.stringValue
        guard self.contains(key) else { throw QueryParameterError("\(name) is missing") }
        return try T(from: QueryDecoder(query: self.query, name: name, values: self.query.take(name) ?? []))
    }

    private func scalar<T>(_ type: T.Type, _ key: Key) throws -> T {
        let name = self.prefix + key.stringValue
        guard let values = self.query.take(name) else { throw QueryParameterError("\(name) is missing") }
        guard values.count == 1 else {
            throw QueryParameterError("\(name) is given \(values.count) times; it takes one value")
        }
        return try parse(values[0], as: T.self, name: name)
    }

    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try self.scalar(type, key) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try self.scalar(type, key) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try self.scalar(type, key) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try self.scalar(type, key) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try self.scalar(type, key) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try self.scalar(type, key) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try self.scalar(type, key) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try self.scalar(type, key) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try self.scalar(type, key) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try self.scalar(type, key) }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws
        -> KeyedDecodingContainer<NestedKey>
    {
        KeyedDecodingContainer(
            QueryKeyedContainer<NestedKey>(query: self.query, prefix: self.prefix + key.stringValue + "."))
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        let name = self.prefix + key.stringValue
        return QueryUnkeyedContainer(name: name, values: self.query.take(name) ?? [])
    }

    func superDecoder() throws -> any Decoder { QueryDecoder(query: self.query, name: self.prefix, values: []) }
    func superDecoder(forKey key: Key) throws -> any Decoder {
        let name = self.prefix + key.stringValue
        return QueryDecoder(query: self.query, name: name, values: self.query.take(name) ?? [])
    }
}

/// A repeated field: one element per occurrence of its name.
private struct QueryUnkeyedContainer: UnkeyedDecodingContainer {
    let name: String
    let values: [String]
    var currentIndex = 0
    var codingPath: [any CodingKey] { queryCodingPath(self.name) }
    var count: Int? { self.values.count }
    var isAtEnd: Bool { self.currentIndex >= self.values.count }

    init(name: String, values: [String]) {
        self.name = name
        self.values = values
    }

    private mutating func next() throws -> String {
        guard !self.isAtEnd else { throw QueryParameterError("\(self.name) has no more values") }
        defer { self.currentIndex += 1 }
        return self.values[self.currentIndex]
    }

    mutating func decodeNil() throws -> Bool { false }
    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try T(from: ElementDecoder(name: self.name, text: try self.next()))
    }
    mutating func decode(_ type: Bool.Type) throws -> Bool { try parse(try self.next(), as: type, name: self.name) }
    mutating func decode(_ type: String.Type) throws -> String { try parse(try self.next(), as: type, name: self.name) }
    mutating func decode(_ type: Double.Type) throws -> Double { try parse(try self.next(), as: type, name: self.name) }
    mutating func decode(_ type: Float.Type) throws -> Float { try parse(try self.next(), as: type, name: self.name) }
    mutating func decode(_ type: Int.Type) throws -> Int { try parse(try self.next(), as: type, name: self.name) }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { try parse(try self.next(), as: type, name: self.name) }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { try parse(try self.next(), as: type, name: self.name) }
    mutating func decode(_ type: UInt.Type) throws -> UInt { try parse(try self.next(), as: type, name: self.name) }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try parse(try self.next(), as: type, name: self.name) }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try parse(try self.next(), as: type, name: self.name) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<
        NestedKey
    > {
        throw QueryParameterError("\(self.name) is a list of messages, which a query cannot carry; POST a JSON body")
    }
    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        throw QueryParameterError("\(self.name) is a list of lists, which a query cannot carry")
    }
    mutating func superDecoder() throws -> any Decoder { ElementDecoder(name: self.name, text: try self.next()) }
}

/// One element of a repeated field (an enum or a 64-bit integer decodes itself from it).
private struct ElementDecoder: Decoder {
    let name: String
    let text: String
    var codingPath: [any CodingKey] { queryCodingPath(self.name) }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        throw QueryParameterError("\(self.name) is a list of messages, which a query cannot carry; POST a JSON body")
    }
    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        throw QueryParameterError("\(self.name) is a list of lists, which a query cannot carry")
    }
    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        QuerySingleValue(name: self.name, text: self.text)
    }
}

private struct QuerySingleValue: SingleValueDecodingContainer {
    let name: String
    let text: String
    var codingPath: [any CodingKey] { queryCodingPath(self.name) }

    func decodeNil() -> Bool { false }
    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try T(from: ElementDecoder(name: self.name, text: self.text))
    }
    func decode(_ type: Bool.Type) throws -> Bool { try parse(self.text, as: type, name: self.name) }
    func decode(_ type: String.Type) throws -> String { try parse(self.text, as: type, name: self.name) }
    func decode(_ type: Double.Type) throws -> Double { try parse(self.text, as: type, name: self.name) }
    func decode(_ type: Float.Type) throws -> Float { try parse(self.text, as: type, name: self.name) }
    func decode(_ type: Int.Type) throws -> Int { try parse(self.text, as: type, name: self.name) }
    func decode(_ type: Int32.Type) throws -> Int32 { try parse(self.text, as: type, name: self.name) }
    func decode(_ type: Int64.Type) throws -> Int64 { try parse(self.text, as: type, name: self.name) }
    func decode(_ type: UInt.Type) throws -> UInt { try parse(self.text, as: type, name: self.name) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try parse(self.text, as: type, name: self.name) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try parse(self.text, as: type, name: self.name) }
}
