import CaravanCore
import CaravanDomain
import CaravanTradeAPI

/// A position in the (year, month, id) order of flows: where the next page
/// starts.
///
/// The kit's ``PageToken`` carries one Int64, so the three parts are packed
/// into it: 12 bits of year, 4 of month, 40 of id (ids up to 10^12, far
/// beyond what one SQLite file of flows will hold).
public struct FlowCursor: Sendable, Hashable {
    public var year: Int
    public var month: Int
    public var id: Int64

    public init(year: Int, month: Int, id: Int64) {
        self.year = year
        self.month = month
        self.id = id
    }

    static let idBits: Int64 = 40
    static let maxID: Int64 = (1 << idBits) - 1

    /// The cursor just after `flow`.
    init?(after flow: TradeFlow) {
        guard let id = Int64(flow.id) else { return nil }
        self.init(year: Int(flow.year), month: Int(flow.month), id: id)
    }

    var packed: Int64 {
        (Int64(self.year) << (Self.idBits + 4)) | (Int64(self.month) << Self.idBits) | (self.id & Self.maxID)
    }

    init?(packed: Int64) {
        guard packed >= 0 else { return nil }
        let year = Int(packed >> (Self.idBits + 4))
        let month = Int((packed >> Self.idBits) & 0xF)
        let id = packed & Self.maxID
        guard (0...4095).contains(year), (0...12).contains(month), id > 0 else { return nil }
        self.init(year: year, month: month, id: id)
    }

    /// The page token resuming after this cursor, bound to `query`.
    func token(for query: FlowQuery) -> String {
        PageToken(lastKey: self.packed).encode(filter: query.fingerprint)
    }

    /// Reads a page token issued for `query`; nil for "" (the first page).
    static func decode(_ token: String, for query: FlowQuery) throws(RPCError) -> FlowCursor? {
        guard let pageToken = try PageToken.decode(token, filter: query.fingerprint) else { return nil }
        guard let cursor = FlowCursor(packed: pageToken.lastKey) else {
            throw RPCError.invalidArgument(field: "page_token", "was not issued by this service")
        }
        return cursor
    }
}
