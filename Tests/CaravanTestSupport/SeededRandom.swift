@_exported import struct CaravanDomain.SplitMix64

extension SplitMix64 {
    /// `count` random bytes, repeatable for a seed (hostile inputs for decoders).
    public mutating func bytes(count: Int) -> [UInt8] {
        (0..<count).map { _ in UInt8.random(in: 0...255, using: &self) }
    }
}
