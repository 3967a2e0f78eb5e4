import CaravanCore
import Testing

@Suite("W3C trace context")
struct TraceContextTests {
    static let sample = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

    @Test("A well-formed traceparent parses into its parts")
    func parses() throws {
        let parts = try #require(TraceContext(traceparent: Self.sample).parts)
        #expect(parts.traceID == "4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(parts.parentID == "00f067aa0ba902b7")
        #expect(parts.flags == "01")
    }

    @Test(
        "Malformed traceparents are refused",
        arguments: [
            "", "garbage", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",  // uppercase
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",  // zero trace id
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",  // zero parent id
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  // forbidden version
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",  // version 00 has no more fields
            "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",
        ])
    func refuses(_ text: String) {
        #expect(TraceContext(traceparent: text).parts == nil && !TraceContext(traceparent: text).isWellFormed)
    }

    @Test("A later version may carry more fields")
    func laterVersion() {
        #expect(TraceContext(traceparent: "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-abc").parts != nil)
    }

    // Found writing HTTPDoorFuzzer's invariant that traceID agrees with
    // parts (fixed before its first run): traceID split the text on
    // dashes, so it named a trace for a malformed traceparent and none for
    // a later version's, disagreeing with parts (which X-Trace-Id uses).
    @Test(
        "traceID is the trace id of a well-formed traceparent only",
        arguments: [
            ("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-abc", "4bf92f3577b34da6a3ce929d0e0e4736"),
            ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "4bf92f3577b34da6a3ce929d0e0e4736"),
            ("xx-not a trace id but 32 chars long-00f067aa0ba902b7-01", nil),
            ("00-00000000000000000000000000000000-00f067aa0ba902b7-01", nil),
            ("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", nil),
        ] as [(String, String?)])
    func traceID(_ text: String, _ expected: String?) {
        let context = TraceContext(traceparent: text)
        #expect(context.traceID == expected)
        #expect(context.traceID == context.parts?.traceID)
    }

    @Test("A child span keeps the trace id, flags and state, and gets a new span id")
    func childSpan() throws {
        let parent = TraceContext(traceparent: Self.sample, tracestate: "vendor=1")
        let span = TraceContext.span(childOf: parent)
        let parts = try #require(span.parts)
        #expect(parts.traceID == "4bf92f3577b34da6a3ce929d0e0e4736" && parts.flags == "01")
        #expect(parts.parentID != "00f067aa0ba902b7" && parts.parentID.count == 16)
        #expect(span.traceparent.count == 55 && span.traceparent.hasPrefix("00-4bf92f3577b34da6a3ce929d0e0e4736-"))
        #expect(span.tracestate == "vendor=1")
    }

    @Test("Without a parent, or with a malformed one, a new trace begins")
    func newTrace() throws {
        var seen = Set<String>()
        for parent in [nil, TraceContext(traceparent: "nonsense")] + Array(repeating: nil, count: 100) {
            let span = TraceContext.span(childOf: parent)
            #expect(span.tracestate.isEmpty)
            let parts = try #require(span.parts, "\(span.traceparent)")
            seen.insert(parts.traceID)
        }
        #expect(seen.count == 102)
    }
}
