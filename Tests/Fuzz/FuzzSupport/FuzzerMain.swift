import CFuzzerDriver
import Foundation

/// What a fuzz target does with one input: libFuzzer's callback type. It
/// returns 0; a violated invariant traps (`precondition`, `fatalError`),
/// which libFuzzer reports as a crash.
public typealias FuzzTest = @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt

/// The body of a fuzz target's `main`.
///
/// Built with `-DFUZZING -sanitize=fuzzer,address` (.ci/fuzz.sh), it hands
/// control to libFuzzer with the process's arguments. Built plainly, it
/// replays the files (or folders of files) named on the command line, so
/// a target also builds and runs without the sanitizers.
public enum FuzzerMain {
    public static func run(_ test: FuzzTest) -> Never {
        #if FUZZING
            var argc = CommandLine.argc
            var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
            exit(LLVMFuzzerRunDriver(&argc, &argv, test))
        #else
            let files = inputFiles(CommandLine.arguments.dropFirst())
            for path in files {
                guard let data = FileManager.default.contents(atPath: path) else { continue }
                _ = data.withUnsafeBytes { bytes in
                    test(bytes.bindMemory(to: UInt8.self).baseAddress, bytes.count)
                }
            }
            print("Replayed \(files.count) inputs without a failure.")
            exit(0)
        #endif
    }

    /// The same, for a target with a seed corpus of its own: with the
    /// arguments `--write-seeds SEEDS DICTIONARY` it writes the seeds into
    /// the folder SEEDS and libFuzzer's dictionary into the file DICTIONARY
    /// (`writeSeeds`), and exits; .ci/fuzz.sh does that before each run.
    public static func run(writingSeedsWith writeSeeds: (URL, URL) throws -> Void, _ test: FuzzTest) -> Never {
        let arguments = CommandLine.arguments
        if arguments.count == 4, arguments[1] == "--write-seeds" {
            do {
                try writeSeeds(URL(fileURLWithPath: arguments[2]), URL(fileURLWithPath: arguments[3]))
                exit(0)
            } catch {
                print("Cannot write the seeds: \(error)")
                exit(1)
            }
        }
        Self.run(test)
    }

    /// Each argument is a file, or a folder whose files are inputs.
    static func inputFiles(_ arguments: ArraySlice<String>) -> [String] {
        var files: [String] = []
        for argument in arguments {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: argument, isDirectory: &isDirectory) else {
                print("No such file: \(argument)")
                exit(2)
            }
            if isDirectory.boolValue {
                let names = (try? FileManager.default.contentsOfDirectory(atPath: argument)) ?? []
                files += names.sorted().map { "\(argument)/\($0)" }
            } else {
                files.append(argument)
            }
        }
        return files
    }
}
