import Foundation
import Logging
import PostgresNIO

/// The text of a statement the stores run often: prepared once per pooled
/// connection (PostgresNIO keeps it by the type's name) and then executed
/// by name, so the server parses and plans it once instead of per call.
public protocol PostgresStatementText {
    static var sql: String { get }
}

/// A prepared ``PostgresStatementText`` with its values, answering raw rows.
public struct PostgresPrepared<Text: PostgresStatementText>: PostgresPreparedStatement {
    public typealias Row = PostgresRow
    public static var sql: String { Text.sql }
    public static var name: String { String(reflecting: Text.self) }

    public var bindings: PostgresBindings

    public init(bindings: PostgresBindings) { self.bindings = bindings }

    public func makeBindings() -> PostgresBindings { self.bindings }
    public func decodeRow(_ row: PostgresRow) -> PostgresRow { row }
}

/// A value a prepared statement takes as a parameter (`nil` as NULL).
public protocol PostgresBindable: Sendable {
    func append(to bindings: inout PostgresBindings) throws
}

extension PostgresBindable where Self: PostgresThrowingDynamicTypeEncodable {
    public func append(to bindings: inout PostgresBindings) throws { try bindings.append(self) }
}

extension Int64: PostgresBindable {}
extension Double: PostgresBindable {}
extension String: PostgresBindable {}
extension Bool: PostgresBindable {}
extension Data: PostgresBindable {}
extension Array: PostgresBindable where Element: PostgresArrayEncodable {}

extension Optional: PostgresBindable where Wrapped: PostgresBindable {
    public func append(to bindings: inout PostgresBindings) throws {
        switch self {
        case .some(let value): try value.append(to: &bindings)
        case .none: bindings.appendNull()
        }
    }
}

extension PostgresConnection {
    /// Runs the prepared statement `text` with `values`; answers its rows.
    public func prepared<Text: PostgresStatementText, each V: PostgresBindable>(
        _ text: Text.Type, _ values: repeat each V, logger: Logger
    ) async throws -> [PostgresRow] {
        var bindings = PostgresBindings()
        for value in repeat each values { try value.append(to: &bindings) }
        var rows: [PostgresRow] = []
        for try await row in try await self.execute(PostgresPrepared<Text>(bindings: bindings), logger: logger) {
            rows.append(row)
        }
        return rows
    }
}
