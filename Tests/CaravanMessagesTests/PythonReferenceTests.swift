import CaravanMessages
import CaravanTestSupport
import Foundation
import Testing

/// Our bytes against Google's: the same messages, encoded by the generated
/// Swift code over protobuf-c and by Google's Python runtime.
@Suite struct PythonReferenceTests {
    @Test func encodingsEqualGooglesByteForByte() async throws {
        let reference = try await PythonReference.fixedCases.value
        #expect(reference.count == ReferenceCases.all.count)
        for testCase in ReferenceCases.all {
            let ours = try testCase.message.serializedBytes()
            let theirs = try #require(reference[testCase.name], "no reference for \(testCase.name)")
            #expect(ours.hex == theirs.hex, "\(testCase.name)")
        }
    }

    @Test func googlesBytesDecodeToTheSameValues() async throws {
        let reference = try await PythonReference.fixedCases.value
        for testCase in ReferenceCases.all {
            let bytes = try #require(reference[testCase.name])
            #expect(try decodes(bytes, to: testCase.message), "\(testCase.name)")
        }
    }

    @Test func caseJSONDecodesToTheSameValues() throws {
        let file = PythonReference.root.appendingPathComponent("Tests/Python/reference_cases.json")
        let root = try jsonObject(Data(contentsOf: file))
        let cases = try #require(root["cases"] as? [[String: Any]])
        let jsonByName = Dictionary(uniqueKeysWithValues: cases.map { ($0["name"] as! String, $0["json"]!) })
        for testCase in ReferenceCases.all {
            let json = try JSONSerialization.data(withJSONObject: try #require(jsonByName[testCase.name]))
            #expect(try decodesJSON(json, to: testCase.message), "\(testCase.name)")
        }
    }

    /// Google's json_format parses our JSON (strictly) to the message we
    /// parse it to: both encode to the same bytes. (JSON cannot carry
    /// everything, e.g. -0.0, so this compares readings, not originals.)
    @Test func googleReadsOurJSONAsWeDo() async throws {
        var cases: [[String: Any]] = []
        for testCase in ReferenceCases.all {
            let json = try JSONEncoder().encode(testCase.message)
            cases.append([
                "name": testCase.name,
                "type": type(of: testCase.message).protoMessageName,
                "json": try JSONSerialization.jsonObject(with: json, options: [.fragmentsAllowed]),
            ])
        }
        let input = try JSONSerialization.data(withJSONObject: ["cases": cases])
        let reference = try await PythonReference.encode(casesJSON: input)
        for testCase in ReferenceCases.all {
            let theirs = try #require(reference[testCase.name])
            let ours = try readOwnJSON(testCase.message).serializedBytes()
            #expect(ours.hex == theirs.hex, "\(testCase.name)")
        }
    }
}

func decodes<Message: ProtoMessage>(_ bytes: [UInt8], to expected: Message) throws -> Bool {
    try Message(serializedBytes: bytes) == expected
}

/// `message` encoded to JSON and decoded again.
func readOwnJSON<Message: ProtoMessage>(_ message: Message) throws -> Message {
    try JSONDecoder().decode(Message.self, from: JSONEncoder().encode(message))
}

func decodesJSON<Message: ProtoMessage>(_ json: Data, to expected: Message) throws -> Bool {
    try JSONDecoder().decode(Message.self, from: json) == expected
}
