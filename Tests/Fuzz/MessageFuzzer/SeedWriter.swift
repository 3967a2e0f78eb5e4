import CProtobufC
import CaravanCore
import Foundation
import FuzzSupport

/// Writes MessageFuzzer's seeds and its libFuzzer dictionary, derived from
/// the message types themselves (`MessageFuzzer --write-seeds FOLDER
/// DICTIONARY`; .ci/fuzz.sh runs it before each run).
///
/// Per type and oneof variant, two seeds: the selector byte and our
/// protobuf encoding of a message with every field set (a `SampleEncoding`
/// decoded and encoded again, so it is what a peer of ours sends), and the
/// selector with the JSON bit and that message as the HTTP door writes it.
enum SeedWriter {
    static func write(seedsTo folder: URL, dictionaryTo dictionary: URL) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var seeds = 0
        for (index, type) in FuzzedMessageTypes.all.enumerated() {
            for variant in 0..<Self.variantCount(type.protobufCDescriptor) {
                let (protobuf, json) = try Self.seed(type, variant: variant)
                let number = String(repeating: "0", count: max(0, 3 - String(index).count)) + String(index)
                let name = "\(number)-\(type.protoMessageName)-\(variant)"
                try Data([UInt8(index)] + protobuf).write(to: folder.appendingPathComponent("\(name).pb"))
                try Data([UInt8(index) | 0x80] + json).write(to: folder.appendingPathComponent("\(name).json"))
                seeds += 2
            }
        }
        var tokens = Set(["\"NaN\"", "\"Infinity\"", "\"-Infinity\"", "\"-0\"", "true", "false", "null"])
        var visited: Set<String> = []
        for type in FuzzedMessageTypes.all {
            Self.collectTokens(type.protobufCDescriptor, into: &tokens, visited: &visited)
        }
        let lines = tokens.sorted().map { "\"\(Self.escaped($0))\"" }
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: dictionary)
        print("Wrote \(seeds) seeds for \(FuzzedMessageTypes.all.count) message types and \(tokens.count) tokens.")
    }

    /// The sample message's protobuf and JSON encodings; it must decode.
    private static func seed<Message: ProtoMessage>(_ type: Message.Type, variant: Int) throws -> ([UInt8], [UInt8]) {
        let sample = SampleEncoding(variant: variant).encode(Message.protobufCDescriptor)
        let message = try Message(serializedBytes: sample)
        return (try message.serializedBytes(), Array(try ProtoJSON.encode(message)))
    }

    /// Enough variants to set each member of the largest oneof once.
    private static func variantCount(_ descriptor: UnsafePointer<ProtobufCMessageDescriptor>) -> Int {
        let fields = UnsafeBufferPointer(start: descriptor.pointee.fields, count: Int(descriptor.pointee.n_fields))
        let oneofMembers = fields.filter { $0.flags & ProtobufC.fieldFlagOneof != 0 }
        let sizes = Dictionary(grouping: oneofMembers, by: \.quantifier_offset).values.map(\.count)
        return max(1, sizes.max() ?? 1)
    }

    /// Field names (proto and JSON) as JSON keys, and enum value names as
    /// JSON strings, of a message and every message it holds.
    private static func collectTokens(
        _ descriptor: UnsafePointer<ProtobufCMessageDescriptor>, into tokens: inout Set<String>,
        visited: inout Set<String>
    ) {
        guard visited.insert(String(cString: descriptor.pointee.name)).inserted else { return }
        let fields = UnsafeBufferPointer(start: descriptor.pointee.fields, count: Int(descriptor.pointee.n_fields))
        for field in fields {
            let name = String(cString: field.name)
            tokens.insert("\"\(name)\":")
            tokens.insert("\"\(Self.jsonName(name))\":")
            if field.type == ProtobufC.typeMessage {
                let nested = field.descriptor!.assumingMemoryBound(to: ProtobufCMessageDescriptor.self)
                Self.collectTokens(nested, into: &tokens, visited: &visited)
            } else if field.type == ProtobufC.typeEnum {
                let values = field.descriptor!.assumingMemoryBound(to: ProtobufCEnumDescriptor.self).pointee
                for value in UnsafeBufferPointer(start: values.values, count: Int(values.n_values)) {
                    tokens.insert("\"\(String(cString: value.name))\"")
                }
            }
        }
    }

    /// protoc's JSON name: underscores dropped, the letter after each one
    /// capitalized (`interval_millis` → `intervalMillis`).
    static func jsonName(_ protoName: String) -> String {
        var result = ""
        var capitalizeNext = false
        for character in protoName {
            if character == "_" {
                capitalizeNext = true
            } else {
                result += capitalizeNext ? character.uppercased() : String(character)
                capitalizeNext = false
            }
        }
        return result
    }

    /// A dictionary entry's escaping (libFuzzer's `-dict` format).
    private static func escaped(_ token: String) -> String {
        token.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
    }
}
