import Foundation

/// The JSON object `text` holds; throws ``NotAJSONObject`` when it holds none.
public func jsonObject(_ text: String) throws -> [String: Any] {
    try jsonObject(Data(text.utf8))
}

/// The JSON object `data` holds; throws ``NotAJSONObject`` when it holds none.
public func jsonObject(_ data: Data) throws -> [String: Any] {
    guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
        throw NotAJSONObject(text: String(decoding: data, as: UTF8.self))
    }
    return object
}

public struct NotAJSONObject: Error, CustomStringConvertible {
    public var text: String
    public var description: String { "Not a JSON object: \(self.text)" }
}

/// `data` re-serialised with sorted keys, so two encodings of one value compare equal.
public func canonicalJSON(_ data: Data) throws -> String {
    let object = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
    let canonical = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .fragmentsAllowed])
    return String(decoding: canonical, as: UTF8.self)
}
