import Foundation

/// A fresh directory under the system's temporary directory, removed by ``remove()``.
public struct TemporaryDirectory: Sendable {
    public let path: String

    /// Creates `caravan-<label>-<UUID>`.
    public init(_ label: String = "test") throws {
        self.path =
            FileManager.default.temporaryDirectory
            .appendingPathComponent("caravan-\(label)-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: self.path, withIntermediateDirectories: true)
    }

    /// The path of `name` inside the directory.
    public func path(_ name: String) -> String { self.path + "/" + name }

    /// A new directory inside this one.
    public func subdirectory(_ name: String) throws -> String {
        let path = self.path(name)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    public func remove() { try? FileManager.default.removeItem(atPath: self.path) }
}

/// Runs `body` with the path of a fresh temporary directory, removed afterwards whatever happens.
public func withTemporaryDirectory<T>(_ label: String = "test", _ body: (String) async throws -> T) async throws -> T {
    let directory = try TemporaryDirectory(label)
    defer { directory.remove() }
    return try await body(directory.path)
}
