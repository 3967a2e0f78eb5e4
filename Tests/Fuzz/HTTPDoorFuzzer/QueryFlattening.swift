import Foundation

/// A message's JSON (as the door writes it) as the query parameters that
/// carry the same fields: a nested message's fields under dotted names, a
/// repeated field's elements as repeated parameters, scalars as their JSON
/// text (strings unescaped).
enum QueryFlattening {
    /// The parameters, or nil for JSON a query cannot carry: a list of
    /// messages or lists, an empty message set as a field, `null`, a map
    /// key that is empty or holds a dot.
    static func parameters(fromJSON json: [UInt8]) -> [(String, String)]? {
        var reader = Reader(bytes: json)
        var parameters: [(String, String)] = []
        guard reader.peek() == UInt8(ascii: "{"), reader.value(name: "", inList: false, into: &parameters),
            reader.atEnd
        else { return nil }
        return parameters
    }

    /// Everything but RFC 3986's unreserved characters as `%XX`.
    static func percentEncoded(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                out.unicodeScalars.append(UnicodeScalar(byte))
            default:
                out += String(format: "%%%02X", byte)
            }
        }
        return out
    }

    private struct Reader {
        let bytes: [UInt8]
        var index = 0

        var atEnd: Bool {
            mutating get {
                self.skipSpace()
                return self.index == self.bytes.count
            }
        }

        mutating func skipSpace() {
            while self.index < self.bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(self.bytes[self.index]) {
                self.index += 1
            }
        }

        mutating func peek() -> UInt8? {
            self.skipSpace()
            return self.index < self.bytes.count ? self.bytes[self.index] : nil
        }

        mutating func expect(_ byte: UInt8) -> Bool {
            guard self.peek() == byte else { return false }
            self.index += 1
            return true
        }

        /// The value at the reader, its scalars appended under `name`.
        mutating func value(name: String, inList: Bool, into parameters: inout [(String, String)]) -> Bool {
            switch self.peek() {
            case UInt8(ascii: "{"):
                guard !inList else { return false }
                self.index += 1
                if self.expect(UInt8(ascii: "}")) { return name.isEmpty }
                repeat {
                    guard let key = self.string(), !key.isEmpty, !key.contains("."), self.expect(UInt8(ascii: ":")),
                        self.value(name: name.isEmpty ? key : name + "." + key, inList: false, into: &parameters)
                    else { return false }
                } while self.expect(UInt8(ascii: ","))
                return self.expect(UInt8(ascii: "}"))
            case UInt8(ascii: "["):
                guard !inList else { return false }
                self.index += 1
                if self.expect(UInt8(ascii: "]")) { return true }
                repeat {
                    guard self.value(name: name, inList: true, into: &parameters) else { return false }
                } while self.expect(UInt8(ascii: ","))
                return self.expect(UInt8(ascii: "]"))
            case UInt8(ascii: "\""):
                guard let text = self.string() else { return false }
                parameters.append((name, text))
                return true
            case nil:
                return false
            default:
                let start = self.index
                while self.index < self.bytes.count, !Array(",}] \n\t\r".utf8).contains(self.bytes[self.index]) {
                    self.index += 1
                }
                let literal = String(decoding: self.bytes[start..<self.index], as: UTF8.self)
                guard !literal.isEmpty, literal != "null" else { return false }
                parameters.append((name, literal))
                return true
            }
        }

        /// A JSON string at the reader, unescaped by Foundation's decoder.
        mutating func string() -> String? {
            guard self.peek() == UInt8(ascii: "\"") else { return nil }
            let start = self.index
            self.index += 1
            while self.index < self.bytes.count, self.bytes[self.index] != UInt8(ascii: "\"") {
                self.index += self.bytes[self.index] == UInt8(ascii: "\\") ? 2 : 1
            }
            guard self.index < self.bytes.count else { return nil }
            self.index += 1
            return try? JSONDecoder().decode(String.self, from: Data(self.bytes[start..<self.index]))
        }
    }
}
