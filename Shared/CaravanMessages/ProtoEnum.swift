/// A protobuf enum as an open Swift type: any `Int32` is a value, the
/// schema's values are `static let`s, and unknown numbers round-trip.
///
/// Generated enums conform; `switch` over one needs a `default:` because a
/// newer peer may send a value this schema does not know.
public protocol ProtoEnum: RawRepresentable, Hashable, Sendable, Codable, CaseIterable,
    CustomStringConvertible
where RawValue == Int32, AllCases == [Self] {
    init(rawValue: Int32)

    /// The fully qualified protobuf name, e.g. `caravan.health.v1.HealthCheckResponse.ServingStatus`.
    static var protoEnumName: String { get }

    /// The protobuf name of a known value (`SERVING`); nil for unknown numbers.
    var protoName: String? { get }

    /// The value named `protoName` in the schema (`SERVING`).
    init?(protoName: String)
}

extension ProtoEnum {
    /// The protobuf name, or the number of a value the schema does not know.
    public var description: String { self.protoName ?? String(self.rawValue) }
}
