import ArgumentParser
import CaravanCore
import Foundation

/// The scenarios `caravan load --scenario NAME` knows, one per service and
/// one for the gateway. Each is JSON in the same format as users' scenario
/// files, read by the same parser, so the built-ins also document the format.
public enum BuiltInScenarios {
    /// The scenario texts, in `--list-scenarios` order.
    static let sources: [String] = [
        TradeScenario.json, LogisticsScenario.json, TrainingScenario.json, GatewayScenario.json,
    ]

    /// Every built-in scenario, parsed and checked.
    public static func all() throws(ScenarioError) -> [LoadScenario] {
        var scenarios: [LoadScenario] = []
        for source in Self.sources {
            do {
                scenarios.append(try LoadScenario(json: Data(source.utf8)))
            } catch {
                throw ScenarioError("A built-in scenario is broken (a bug): \(error.description)")
            }
        }
        return scenarios
    }

    public static var names: [String] { ((try? Self.all()) ?? []).map(\.name) }

    /// The built-in scenario called `name`, or nil.
    static func named(_ name: String) throws -> LoadScenario? {
        do {
            return try Self.all().first { $0.name == name }
        } catch {
            throw ValidationError(error.description)
        }
    }

    /// What `--list-scenarios` prints: each scenario, its service and its mix.
    static func listing() throws -> String {
        let scenarios: [LoadScenario]
        do {
            scenarios = try Self.all()
        } catch {
            throw ValidationError(error.description)
        }
        var lines: [String] = []
        for scenario in scenarios {
            let total = scenario.steps.map(\.weight).reduce(0, +)
            lines.append("\(scenario.name)  (\(scenario.service))")
            lines.append("  \(scenario.description)")
            for step in scenario.steps {
                let share = Double(step.weight) / Double(total) * 100
                // The method when the step's name is not enough: renamed, or another service's (routed).
                let descriptor = step.method.descriptor
                let shown = descriptor.service == scenario.service ? descriptor.method : descriptor.path
                lines.append(
                    "    " + String(format: "%5.1f%%  ", share) + step.name + (shown == step.name ? "" : "  " + shown))
            }
            lines.append("")
        }
        lines.append("Run one with: caravan load HOST:PORT --scenario NAME [--rps N | -c N] [--duration 30s]")
        return lines.joined(separator: "\n")
    }
}
