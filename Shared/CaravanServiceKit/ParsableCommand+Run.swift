import ArgumentParser

extension ParsableCommand {
    /// Parses the process's arguments and runs `body` with the command,
    /// reporting bad arguments and errors as ArgumentParser does.
    ///
    /// The executables' entry point: from top-level code ArgumentParser's
    /// `main()` and `run()` resolve to their synchronous overloads, which
    /// only print the help.
    public static func parseAndRun(_ body: (sending Self) async throws -> Void) async {
        do {
            try await body(try Self.parse())
        } catch {
            Self.exit(withError: error)
        }
    }
}
