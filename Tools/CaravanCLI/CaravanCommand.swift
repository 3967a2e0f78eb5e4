import ArgumentParser

/// The `caravan` command: call, inspect, probe and load-test Caravan servers.
public struct CaravanCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "caravan",
        abstract: "Call, inspect, health-check and load-test Caravan services.",
        subcommands: [
            CallCommand.self, ListCommand.self, DescribeCommand.self, HealthCommand.self,
            LoadCommand.self, EchoServerCommand.self, TokenCommand.self,
        ]
    )

    public init() {}
}

extension CaravanCommand {
    /// Parses the process's arguments and runs the chosen subcommand.
    /// (Called from `main.swift`; ArgumentParser's own `main()` picks its
    /// synchronous overload from top-level code and refuses async commands.)
    public static func runAsMain() async {
        do {
            var command = try Self.parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            Self.exit(withError: error)
        }
    }
}
