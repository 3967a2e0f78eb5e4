import ArgumentParser
import CaravanCore
import CaravanServiceKit
import CaravanTCP
import Testing

@Suite("Server limit flags")
struct ServerLimitOptionsTests {
    func configuration(_ arguments: [String]) throws -> ServerConfiguration {
        try ServerLimitOptions.parse(arguments).apply(to: ServerConfiguration())
    }

    @Test("Admission control is adaptive by default; its ceiling and queueing allowance are set by flags")
    func adaptive() throws {
        #expect(try self.configuration([]).admission == .defaults)
        let tuned = try #require(
            try self.configuration(["--max-in-flight-calls", "64", "--admission-queueing-allowance", "2ms"]).admission)
        #expect(tuned.maxLimit == 64 && tuned.initialLimit == 64 && tuned.minLimit == 16)
        #expect(tuned.queueingAllowance == .milliseconds(2))
        #expect(try self.configuration(["--admission-queueing-allowance", "0"]).admission?.queueingAllowance == .zero)
        #expect(try self.configuration(["--admission-control", "off"]).admission == nil)
    }

    @Test("Flags that contradict or do not parse are refused with a message naming the flag")
    func refused() {
        let cases: [([String], String)] = [
            (["--admission-control", "sometimes"], "--admission-control"),
            (["--admission-control", "off", "--max-in-flight-calls", "8"], "--max-in-flight-calls"),
            (
                ["--admission-control", "off", "--admission-queueing-allowance", "1ms"],
                "--admission-queueing-allowance"
            ),
            (["--admission-queueing-allowance", "soon"], "--admission-queueing-allowance"),
            (["--max-in-flight-calls", "0"], "--max-in-flight-calls"),
        ]
        for (arguments, flag) in cases {
            #expect("\(arguments)") {
                _ = try self.configuration(arguments)
            } throws: { error in
                (error as? ValidationError)?.message.contains(flag) == true
            }
        }
    }
}
