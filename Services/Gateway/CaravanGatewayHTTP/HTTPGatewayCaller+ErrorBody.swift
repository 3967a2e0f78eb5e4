import Foundation

extension HTTPGatewayCaller.ErrorBody {
    /// One line of JSON with its keys in the documented order,
    /// `{"code":…,"message":…,"details":[]}` (a JSON encoder's key order is
    /// its own).
    var json: Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .withoutEscapingSlashes
        let message = (try? encoder.encode(self.message)) ?? Data(#""""#.utf8)
        let details = (try? encoder.encode(self.details)) ?? Data("[]".utf8)
        return Data(#"{"code":\#(self.code),"message":"#.utf8) + message + Data(#","details":"#.utf8) + details
            + Data("}".utf8)
    }
}
