/// Key/value pairs sent with a call (request metadata) or its status
/// (trailers).
///
/// Keys are lowercase ASCII; a key ending in `-bin` carries bytes, any
/// other key carries text. A key may repeat; order is kept.
public struct Metadata: Hashable, Sendable, Sequence, ExpressibleByDictionaryLiteral {
    /// A metadata value: text, or bytes for `-bin` keys.
    public enum Value: Hashable, Sendable, CustomStringConvertible, ExpressibleByStringLiteral {
        case string(String)
        case binary([UInt8])

        public init(stringLiteral value: String) { self = .string(value) }

        public var description: String {
            switch self {
            case .string(let text): return text
            case .binary(let bytes): return "<\(bytes.count) bytes>"
            }
        }
    }

    /// One entry.
    public struct Element: Hashable, Sendable {
        public var key: String
        public var value: Value

        public init(key: String, value: Value) {
            self.key = key
            self.value = value
        }
    }

    private var elements: [Element]

    public init() { self.elements = [] }

    // The nested `Value` is ExpressibleByDictionaryLiteral's `Value`, so the
    // literal's values are `Value`s; string literals become `.string`.
    public init(dictionaryLiteral elements: (String, Value)...) {
        self.elements = elements.map { Element(key: $0.0.lowercased(), value: $0.1) }
    }

    public var count: Int { self.elements.count }
    public var isEmpty: Bool { self.elements.isEmpty }

    public func makeIterator() -> IndexingIterator<[Element]> { self.elements.makeIterator() }

    /// Appends a text value (keys are lowercased).
    public mutating func addString(_ value: String, forKey key: String) {
        self.elements.append(Element(key: key.lowercased(), value: .string(value)))
    }

    /// Appends a binary value; the key should end in `-bin`.
    public mutating func addBinary(_ value: [UInt8], forKey key: String) {
        self.elements.append(Element(key: key.lowercased(), value: .binary(value)))
    }

    /// Appends an entry as it arrived from the wire.
    public mutating func add(_ element: Element) { self.elements.append(element) }

    /// Replaces every value of `key` with one text value.
    public mutating func replaceOrAddString(_ value: String, forKey key: String) {
        self.removeAll(key)
        self.addString(value, forKey: key)
    }

    public mutating func removeAll(_ key: String) {
        let key = key.lowercased()
        self.elements.removeAll { $0.key == key }
    }

    /// Every text value of `key`, in order.
    public subscript(stringValues key: String) -> [String] {
        let key = key.lowercased()
        return self.elements.compactMap {
            guard $0.key == key, case .string(let text) = $0.value else { return nil }
            return text
        }
    }

    /// The first text value of `key`.
    public func firstString(_ key: String) -> String? { self[stringValues: key].first }

    /// Total bytes of keys and values, as limits count them.
    public var encodedSize: Int {
        self.elements.reduce(0) { total, element in
            switch element.value {
            case .string(let text): return total + element.key.utf8.count + text.utf8.count
            case .binary(let bytes): return total + element.key.utf8.count + bytes.count
            }
        }
    }

    /// Whether `key` is a valid metadata key: `[0-9a-z_.-]+`.
    public static func isValidKey(_ key: String) -> Bool {
        !key.isEmpty
            && key.utf8.allSatisfy { byte in
                (byte >= 0x30 && byte <= 0x39) || (byte >= 0x61 && byte <= 0x7A) || byte == 0x5F
                    || byte == 0x2E || byte == 0x2D
            }
    }
}
