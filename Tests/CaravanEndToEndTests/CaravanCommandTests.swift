import CaravanTestSupport
import Foundation
import Testing

@Suite("caravan command against a real echo-server", .serialized, .timeLimit(.minutes(3)))
struct CaravanCommandTests {
    @Test("call, list, describe, health, load and a graceful stop")
    func endToEnd() async throws {
        let server = try await ServerProcess("caravan", ["echo-server", "--port", "0"])
        let address = server.address

        // call: JSON in, JSON out; bytes as base64.
        let unary = try await runCommand(
            "caravan", ["call", address, "caravan.echo.v1.Echo/Unary", #"{"text":"salem","payload":"AQID"}"#])
        #expect(unary.status == 0, "\(unary.stderr)")
        let response = try jsonObject(unary.stdout)
        #expect(response["text"] as? String == "salem")
        #expect(response["payload"] as? String == "AQID")

        // The request from standard input.
        let piped = try await runCommand(
            "caravan", ["call", "--compact", address, "/caravan.echo.v1.Echo/Unary", "-"], stdin: #"{"text":"stdin"}"#)
        #expect(piped.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == #"{"text":"stdin"}"#)

        // A non-OK status: its name and message on stderr, exit 64 + code.
        let failed = try await runCommand(
            "caravan", ["call", address, "caravan.echo.v1.Echo/Fail", #"{"code":5,"message":"no such flow"}"#])
        #expect(failed.status == 64 + 5)
        #expect(failed.stderr.contains("NOT_FOUND: no such flow"))

        // Bad JSON never reaches the server.
        let badJSON = try await runCommand("caravan", ["call", address, "caravan.echo.v1.Echo/Unary", "{not json"])
        #expect(badJSON.status != 0)
        #expect(badJSON.stderr.contains("EchoRequest"))

        // A server stream prints one object per message.
        let stream = try await runCommand(
            "caravan", ["call", "--compact", address, "caravan.echo.v1.Echo/ServerStream", #"{"count":4}"#])
        #expect(stream.status == 0)
        #expect(stream.stdout.split(separator: "\n").count == 4)

        // A reader that stops early (`| head -1`): the command ends by SIGPIPE, as Unix tools do, not
        // by a crash. 1,000 messages of 1 KiB each: more than a pipe holds, so writes follow head's exit.
        let payload = Data(repeating: 7, count: 1024).base64EncodedString()
        let early = try await runProgram(
            "/bin/bash",
            [
                "-c",
                #""$0" call --compact "$1" caravan.echo.v1.Echo/ServerStream "$2" | head -1 >/dev/null; echo "${PIPESTATUS[0]}""#,
                BuiltProducts.path("caravan"), address, #"{"count":1000,"payload":"\#(payload)"}"#,
            ])
        #expect(early.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "141", "\(early.stderr)")
        #expect(!early.stderr.contains("crashed"), "\(early.stderr)")

        // A deadline shorter than the handler's sleep.
        let slow = try await runCommand(
            "caravan", ["call", "--timeout", "200ms", address, "caravan.echo.v1.Echo/Sleep", #"{"millis":5000}"#])
        #expect(slow.status == 64 + 4)
        #expect(slow.stderr.contains("DEADLINE_EXCEEDED"))

        // list and describe through reflection.
        let list = try await runCommand("caravan", ["list", address])
        #expect(list.stdout.contains("caravan.echo.v1.Echo"))
        #expect(list.stdout.contains("/caravan.echo.v1.Echo/ServerStream"))
        #expect(list.stdout.contains("caravan.health.v1.Health"))
        let describe = try await runCommand("caravan", ["describe", address, "caravan.echo.v1.Echo/Unary"])
        #expect(describe.status == 0)
        #expect(
            describe.stdout.contains("rpc Unary(.caravan.echo.v1.EchoRequest) returns (.caravan.echo.v1.EchoResponse);")
        )
        #expect(describe.stdout.contains("bytes payload = 1;"))

        // health: exit 0 only when SERVING.
        let health = try await runCommand("caravan", ["health", address])
        #expect(health.status == 0)
        #expect(health.stdout.contains("SERVING"))
        let unknown = try await runCommand("caravan", ["health", address, "caravan.nope.v1.Nope"])
        #expect(unknown.status != 0)

        // load: the JSON report's fields.
        let load = try await runCommand(
            "caravan",
            [
                "load", address, "--call", "caravan.echo.v1.Echo/Unary", "--data", #"{"payload":"AAAA"}"#,
                "--concurrency", "8", "--connections", "2", "-n", "2000", "--format", "json",
            ])
        #expect(load.status == 0, "\(load.stderr)")
        let report = try jsonObject(load.stdout)
        #expect(report["calls"] as? Int == 2000)
        #expect(report["errors"] as? Int == 0)
        for key in ["qps", "p50_us", "p99_us", "p999_us"] {
            #expect((report[key] as? Double ?? 0) > 0, "\(key) is reported")
        }

        // SIGTERM: a clean exit, and nothing answers afterwards.
        let status = try await server.stop()
        #expect(status == 0, "exit status after SIGTERM; log:\n\(server.log)")
        let after = try await runCommand("caravan", ["health", "--timeout", "1s", address])
        #expect(after.status != 0)
    }

    @Test("Bad command lines are refused with a clear message")
    func badArguments() async throws {
        let noPort = try await runCommand("caravan", ["call", "localhost", "caravan.echo.v1.Echo/Unary", "{}"])
        #expect(noPort.status != 0)
        #expect(noPort.stderr.contains("host:port"))
        let unknownMethod = try await runCommand("caravan", ["call", "127.0.0.1:1", "caravan.echo.v1.Echo/Nope", "{}"])
        #expect(unknownMethod.status != 0)
        #expect(unknownMethod.stderr.contains("Unknown method"))
    }
}
