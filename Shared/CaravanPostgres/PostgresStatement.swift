import Foundation
import PostgresNIO

/// A statement whose filters vary per call: fragments with `?` for a value,
/// renumbered as PostgreSQL's `$1, $2, …`, the values bound in order.
public struct PostgresStatement: Sendable {
    private var sql: String
    private var binds = PostgresBindings()

    public init(_ sql: String) { self.sql = sql }

    /// Appends `fragment`, whose one `?` stands for `value`.
    public mutating func append<Value: PostgresDynamicTypeEncodable>(_ fragment: String, _ value: Value) {
        self.binds.append(value)
        self.sql += fragment.replacingOccurrences(of: "?", with: "$\(self.binds.count)")
    }

    public mutating func append(_ fragment: String) { self.sql += fragment }

    public var query: PostgresQuery { PostgresQuery(unsafeSQL: self.sql, binds: self.binds) }
}
