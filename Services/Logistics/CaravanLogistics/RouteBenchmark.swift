import CaravanCore
import CaravanDomain
import CaravanLogisticsAPI
import CaravanSQLite
import Foundation

/// In-process route-finding benchmark (`caravan-logistics
/// --benchmark-routes`): latency percentiles of the route finder on the
/// seeded network and on a generated 10,000-station, 50,000-link network,
/// and of the whole FindRoute handler on an in-memory database. Kept out
/// of the test suite; run it on a release build.
public enum RouteBenchmark {
    public static func run(queries: Int = 20_000, largeQueries: Int = 1_000) async throws -> String {
        var lines: [String] = []
        lines.append("| case | queries | p50 µs | p90 µs | p99 µs | max µs |")
        lines.append("|---|---:|---:|---:|---:|---:|")

        let seeded = NetworkSnapshot(SeedNetwork.build())
        let pairs = Self.pairs(count: queries, nodes: seeded.graph.nodeCount, seed: 1)
        lines.append(
            Self.row(
                "seeded (\(seeded.graph.nodeCount) cities, \(seeded.graph.edges.count) links): fastest, new finder per query",
                Self.measure(pairs) { a, b in
                    var finder = RouteFinder(graph: seeded.graph)
                    return finder.fastest(from: a, to: b) != nil
                }))
        var reused = RouteFinder(graph: seeded.graph)
        lines.append(
            Self.row(
                "seeded: fastest, finder reused",
                Self.measure(pairs) { a, b in
                    reused.fastest(from: a, to: b) != nil
                }))
        lines.append(
            Self.row(
                "seeded: 3 best (Yen)",
                Self.measure(Array(pairs.prefix(queries / 4))) { a, b in
                    reused.best(from: a, to: b, k: 3).count > 0
                }))

        let large = GeneratedNetwork.graph(stations: 10_000, links: 50_000, seed: 7)
        let largePairs = Self.pairs(count: largeQueries, nodes: large.nodeCount, seed: 2)
        var largeFinder = RouteFinder(graph: large)
        lines.append(
            Self.row(
                "generated (10,000 stations, 50,000 links): fastest",
                Self.measure(largePairs) { a, b in
                    largeFinder.fastest(from: a, to: b) != nil
                }))
        lines.append(
            Self.row(
                "generated: 3 best (Yen)",
                Self.measure(Array(largePairs.prefix(largeQueries / 10))) { a, b in
                    largeFinder.best(from: a, to: b, k: 3).count > 0
                }))

        // The whole handler: snapshot, validation, route, message building.
        let database = try SQLiteDatabase.temporary(migrations: LogisticsMigrations.all)
        let service = LogisticsServiceProvider(store: SQLiteLogisticsStore(database))
        let context = ServerContext(descriptor: LogisticsService.Method.findRoute)
        _ = try await service.snapshot()
        var handler: [Duration] = []
        let clock = ContinuousClock()
        for (a, b) in pairs.prefix(queries / 4) {
            let request = FindRouteRequest(fromCityId: seeded.cities[Int(a)].id, toCityId: seeded.cities[Int(b)].id)
            let start = clock.now
            _ = try? await service.findRoute(request: request, context: context)
            handler.append(start.duration(to: clock.now))
        }
        lines.append(Self.row("seeded: FindRoute handler (in-process, no transport)", handler))
        await database.close()
        return lines.joined(separator: "\n")
    }

    static func pairs(count: Int, nodes: Int, seed: UInt64) -> [(Int32, Int32)] {
        var random = SplitMix64(seed: seed)
        var pairs: [(Int32, Int32)] = []
        while pairs.count < count {
            let a = Int32.random(in: 0..<Int32(nodes), using: &random)
            let b = Int32.random(in: 0..<Int32(nodes), using: &random)
            if a != b { pairs.append((a, b)) }
        }
        return pairs
    }

    static func measure(_ pairs: [(Int32, Int32)], _ body: (Int32, Int32) -> Bool) -> [Duration] {
        let clock = ContinuousClock()
        // Warm up caches and lazily allocated scratch first.
        for (a, b) in pairs.prefix(200) { _ = body(a, b) }
        var samples: [Duration] = []
        samples.reserveCapacity(pairs.count)
        var found = 0
        for (a, b) in pairs {
            let start = clock.now
            if body(a, b) { found += 1 }
            samples.append(start.duration(to: clock.now))
        }
        precondition(found > 0, "no route found at all: the benchmark network is broken")
        return samples
    }

    static func row(_ name: String, _ samples: [Duration]) -> String {
        let sorted = samples.map { Double($0.components.attoseconds) / 1e12 + Double($0.components.seconds) * 1e6 }
            .sorted()
        func pct(_ p: Double) -> String {
            String(format: "%.1f", sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))])
        }
        return
            "| \(name) | \(sorted.count) | \(pct(0.5)) | \(pct(0.9)) | \(pct(0.99)) | \(String(format: "%.1f", sorted.last ?? 0)) |"
    }
}
