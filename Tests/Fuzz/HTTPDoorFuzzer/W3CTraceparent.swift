/// W3C Trace Context level 1's `traceparent`, written from the
/// recommendation rather than from `TraceContext`, to check it against:
/// `version-traceid-parentid-flags`, each lowercase hex of 2, 32, 16 and 2
/// digits; version `ff` invalid; ids not all zeros; version 00 exactly 55
/// characters; a later version may go on after a dash.
enum W3CTraceparent {
    static func isWellFormed(_ bytes: [UInt8]) -> Bool {
        let text = String(decoding: bytes, as: UTF8.self)
        guard bytes.count >= 55, text.utf8.count == bytes.count else { return false }
        let fields = bytes.prefix(55).split(separator: UInt8(ascii: "-"), omittingEmptySubsequences: false)
        guard fields.count == 4, fields.map(\.count) == [2, 32, 16, 2] else { return false }
        let lowerHex = Set("0123456789abcdef".utf8)
        guard fields.allSatisfy({ $0.allSatisfy(lowerHex.contains) }) else { return false }
        let version = String(decoding: fields[0], as: UTF8.self)
        guard version != "ff" else { return false }
        guard fields[1].contains(where: { $0 != UInt8(ascii: "0") }),
            fields[2].contains(where: { $0 != UInt8(ascii: "0") })
        else { return false }
        if version == "00" { return bytes.count == 55 }
        return bytes.count == 55 || bytes[55] == UInt8(ascii: "-")
    }
}
