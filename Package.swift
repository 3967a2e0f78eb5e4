// swift-tools-version: 6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "Caravan",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "caravan", targets: ["caravan"]),
        .executable(name: "caravan-trade", targets: ["caravan-trade"]),
        .executable(name: "caravan-logistics", targets: ["caravan-logistics"]),
        .executable(name: "caravan-training", targets: ["caravan-training"]),
        .executable(name: "caravan-gateway", targets: ["caravan-gateway"]),
        .library(name: "CaravanCore", targets: ["CaravanCore"]),
        .library(name: "CaravanTCP", targets: ["CaravanTCP"]),
        .library(name: "CaravanServer", targets: ["CaravanServer"]),
        // The frame headers and every service's messages, for Tests/Fuzz (a separate package).
        .library(name: "CaravanEnvelope", targets: ["CaravanEnvelope"]),
        .library(name: "CaravanEchoAPI", targets: ["CaravanEchoAPI"]),
        .library(name: "CaravanHealthAPI", targets: ["CaravanHealthAPI"]),
        .library(name: "CaravanReflectionAPI", targets: ["CaravanReflectionAPI"]),
        .library(name: "CaravanTradeAPI", targets: ["CaravanTradeAPI"]),
        .library(name: "CaravanLogisticsAPI", targets: ["CaravanLogisticsAPI"]),
        .library(name: "CaravanTrainingAPI", targets: ["CaravanTrainingAPI"]),
        .library(name: "CaravanGatewayAPI", targets: ["CaravanGatewayAPI"]),
        // What an HTTP client's request reaches at the gateway's HTTP door
        // (query, headers, bearer token), for Tests/Fuzz's HTTPDoorFuzzer.
        .library(name: "CaravanAuth", targets: ["CaravanAuth"]),
        .library(name: "CaravanDomain", targets: ["CaravanDomain"]),
        .library(name: "CaravanServiceKit", targets: ["CaravanServiceKit"]),
        .library(name: "CaravanGateway", targets: ["CaravanGateway"]),
        .library(name: "CaravanGatewayHTTP", targets: ["CaravanGatewayHTTP"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-atomics.git", from: "1.3.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
    ],
    targets: [
        // MARK: C: libprotobuf-c and the protoc-c output
        .systemLibrary(
            name: "CProtobufC",
            path: "Shared/CProtobufC",
            pkgConfig: "libprotobuf-c",
            providers: [.apt(["libprotobuf-c-dev"])]
        ),
        .target(
            name: "CCaravanProto",
            dependencies: ["CProtobufC"],
            path: "Proto/CCaravanProto"
        ),
        .systemLibrary(
            name: "CSQLite",
            path: "Shared/CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),

        // MARK: Messages and the RPC core (no NIO)
        .target(
            name: "CaravanMessages",
            dependencies: ["CProtobufC", "CCaravanProto"],
            path: "Shared/CaravanMessages",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CaravanCore",
            dependencies: [
                "CaravanMessages",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Shared/CaravanCore",
            swiftSettings: swiftSettings
        ),

        // MARK: Bearer tokens (HS256 JWT), for the gateway and the CLI
        .target(
            name: "CaravanAuth",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")],
            path: "Shared/CaravanAuth",
            swiftSettings: swiftSettings
        ),

        // MARK: Generated API modules (messages + service stubs), one per proto package
        .target(
            name: "CaravanEnvelope",
            dependencies: ["CaravanMessages", "CCaravanProto"],
            path: "Proto/Swift/CaravanEnvelope",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CaravanHealthAPI",
            dependencies: ["CaravanMessages", "CaravanCore", "CCaravanProto"],
            path: "Proto/Swift/CaravanHealthAPI",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CaravanReflectionAPI",
            dependencies: ["CaravanMessages", "CaravanCore", "CCaravanProto"],
            path: "Proto/Swift/CaravanReflectionAPI",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CaravanEchoAPI",
            dependencies: ["CaravanMessages", "CaravanCore", "CCaravanProto"],
            path: "Proto/Swift/CaravanEchoAPI",
            swiftSettings: swiftSettings
        ),

        .target(
            name: "CaravanTradeAPI",
            dependencies: ["CaravanMessages", "CaravanCore", "CCaravanProto"],
            path: "Proto/Swift/CaravanTradeAPI",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CaravanLogisticsAPI",
            dependencies: ["CaravanMessages", "CaravanCore", "CCaravanProto"],
            path: "Proto/Swift/CaravanLogisticsAPI",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CaravanTrainingAPI",
            dependencies: ["CaravanMessages", "CaravanCore", "CCaravanProto"],
            path: "Proto/Swift/CaravanTrainingAPI",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CaravanGatewayAPI",
            dependencies: ["CaravanMessages", "CaravanCore", "CCaravanProto"],
            path: "Proto/Swift/CaravanGatewayAPI",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CaravanTestingAPI",
            dependencies: ["CaravanMessages", "CaravanCore", "CCaravanProto"],
            path: "Proto/Swift/CaravanTestingAPI",
            swiftSettings: swiftSettings
        ),

        // MARK: The SVG charts the dashboard and the load reports share (JavaScript, embedded)
        .target(
            name: "CaravanWebCharts",
            path: "Shared/CaravanWebCharts",
            resources: [.embedInCode("charts.js")],
            swiftSettings: swiftSettings
        ),

        // MARK: Transports and the server
        .target(
            name: "CaravanTCP",
            dependencies: [
                "CaravanCore",
                "CaravanEnvelope",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "Atomics", package: "swift-atomics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ],
            path: "Shared/CaravanTCP",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CaravanInProcess",
            dependencies: ["CaravanCore"],
            path: "Shared/CaravanInProcess",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CaravanObservability",
            dependencies: [
                "CaravanCore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Shared/CaravanObservability",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CaravanServer",
            dependencies: [
                "CaravanCore",
                "CaravanTCP",
                "CaravanObservability",
                "CaravanHealthAPI",
                "CaravanReflectionAPI",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Shared/CaravanServer",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CaravanEcho",
            dependencies: ["CaravanCore", "CaravanEchoAPI"],
            path: "Services/Echo",
            swiftSettings: swiftSettings
        ),

        // MARK: What services and their callers share, without a server or a database:
        // country codes, page tokens, the idempotency ledger's rules, the storage error mapping
        .target(
            name: "CaravanDomain",
            dependencies: ["CaravanCore", .product(name: "Logging", package: "swift-log")],
            path: "Shared/CaravanDomain",
            swiftSettings: swiftSettings
        ),

        // MARK: Storage: SQLite (one writer, a reader per thread) and PostgreSQL (a pool)
        .target(
            name: "CaravanSQLite",
            dependencies: ["CSQLite", "CaravanCore", "CaravanDomain"],
            path: "Shared/CaravanSQLite",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CaravanPostgres",
            dependencies: [
                "CaravanCore",
                "CaravanDomain",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "_ConnectionPoolModule", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ],
            path: "Shared/CaravanPostgres",
            swiftSettings: swiftSettings
        ),

        // MARK: What every executable's process shares: options, TLS, metrics (no database)
        .target(
            name: "CaravanServiceKit",
            dependencies: [
                "CaravanCore",
                "CaravanTCP",
                "CaravanObservability",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Shared/CaravanServiceKit",
            swiftSettings: swiftSettings
        ),

        // MARK: A service executable's body: its options, its storage, its server, the SQLite → PostgreSQL copy
        .target(
            name: "CaravanServiceMain",
            dependencies: [
                "CaravanCore",
                "CaravanServiceKit",
                "CaravanSQLite",
                "CaravanPostgres",
                "CaravanTCP",
                "CaravanServer",
                "CaravanObservability",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Shared/CaravanServiceMain",
            swiftSettings: swiftSettings
        ),

        // MARK: The services: a library each (logic + storage) and a thin executable
        .target(
            name: "CaravanTrade",
            dependencies: [
                "CaravanCore", "CaravanDomain", "CaravanSQLite", "CaravanPostgres", "CaravanTradeAPI",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Services/Trade/CaravanTrade",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "caravan-trade",
            dependencies: ["CaravanTrade", "CaravanServiceKit", "CaravanServiceMain"],
            path: "Services/Trade/caravan-trade",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CaravanLogistics",
            dependencies: [
                "CaravanCore", "CaravanDomain", "CaravanSQLite", "CaravanPostgres", "CaravanLogisticsAPI",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Services/Logistics/CaravanLogistics",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "caravan-logistics",
            dependencies: ["CaravanLogistics", "CaravanServiceKit", "CaravanServiceMain"],
            path: "Services/Logistics/caravan-logistics",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CaravanTraining",
            dependencies: [
                "CaravanCore", "CaravanDomain", "CaravanSQLite", "CaravanPostgres", "CaravanTrainingAPI",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Services/Training/CaravanTraining",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "caravan-training",
            dependencies: ["CaravanTraining", "CaravanServiceKit", "CaravanServiceMain"],
            path: "Services/Training/caravan-training",
            swiftSettings: swiftSettings
        ),

        // MARK: The gateway: the services' client stubs, never their implementations
        .target(
            name: "CaravanGateway",
            dependencies: [
                "CaravanCore", "CaravanTCP", "CaravanServer", "CaravanServiceKit", "CaravanDomain", "CaravanHealthAPI",
                "CaravanAuth", "CaravanTradeAPI", "CaravanLogisticsAPI", "CaravanTrainingAPI", "CaravanGatewayAPI",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Services/Gateway/CaravanGateway",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CaravanGatewayHTTP",
            dependencies: [
                "CaravanGateway", "CaravanCore", "CaravanGatewayAPI", "CaravanServiceKit", "CaravanObservability",
                "CaravanTCP",
                "CaravanTradeAPI",
                "CaravanWebCharts",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Services/Gateway/CaravanGatewayHTTP",
            resources: [
                .embedInCode("Dashboard/index.html"), .embedInCode("Dashboard/dashboard.css"),
                .embedInCode("Dashboard/dashboard.js"), .embedInCode("Dashboard/network-map.js"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "caravan-gateway",
            dependencies: [
                "CaravanGateway", "CaravanGatewayHTTP", "CaravanServiceKit", "CaravanTCP", "CaravanServer",
                "CaravanCore",
                "CaravanObservability",
                "CaravanAuth",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Services/Gateway/caravan-gateway",
            swiftSettings: swiftSettings
        ),

        // MARK: Tools
        .target(
            name: "CaravanCLI",
            dependencies: [
                "CaravanServiceKit",
                "CaravanObservability",
                "CaravanAuth",
                "CProtobufC",
                "CCaravanProto",
                "CaravanCore",
                "CaravanTCP",
                "CaravanServer",
                "CaravanEcho",
                "CaravanEchoAPI",
                "CaravanHealthAPI",
                "CaravanReflectionAPI",
                "CaravanTradeAPI",
                "CaravanLogisticsAPI",
                "CaravanTrainingAPI",
                "CaravanGatewayAPI",
                "CaravanWebCharts",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "Atomics", package: "swift-atomics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Tools/CaravanCLI",
            resources: [
                .embedInCode("LoadReportPage/load-report.html"), .embedInCode("LoadReportPage/load-report.js"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "caravan",
            dependencies: ["CaravanCLI"],
            path: "Tools/caravan",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "caravan-gateway-bench",
            dependencies: [
                "CaravanGateway", "CaravanGatewayAPI", "CaravanTradeAPI", "CaravanLogisticsAPI", "CaravanTrainingAPI",
                "CaravanCore", "CaravanTCP", "CaravanServiceKit", "CaravanDomain", "CaravanEchoAPI",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            path: "Tools/GatewayBenchmark",
            swiftSettings: swiftSettings
        ),

        // MARK: Tests
        // What every test suite shares: temporary directories, JSON, waiting
        // on events, servers on port 0, the built executables, PostgreSQL
        // test databases.
        .target(
            name: "CaravanTestSupport",
            dependencies: [
                "CaravanCore", "CaravanDomain", "CaravanPostgres", "CaravanTCP", "CaravanServer", "CaravanEcho",
                "CaravanEchoAPI",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Tests/CaravanTestSupport",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "caravan-proto-leakcheck",
            dependencies: ["CaravanMessages", "CaravanEchoAPI", "CaravanTestingAPI"],
            path: "Tests/LeakCheck",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CaravanMessagesTests",
            dependencies: [
                "CaravanTestSupport",
                "CaravanMessages", "CaravanCore", "CaravanEchoAPI", "CaravanHealthAPI", "CaravanEnvelope",
                "CaravanReflectionAPI", "CaravanTestingAPI", "CaravanTradeAPI", "CaravanLogisticsAPI",
                "CaravanTrainingAPI", "CaravanGatewayAPI",
            ],
            path: "Tests/CaravanMessagesTests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CaravanCoreTests",
            dependencies: ["CaravanTestSupport", "CaravanCore", "CaravanInProcess", "CaravanEcho", "CaravanEchoAPI"],
            path: "Tests/CaravanCoreTests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CaravanTCPTests",
            dependencies: [
                "CaravanTestSupport",
                "CaravanTCP", "CaravanServer", "CaravanEcho", "CaravanEchoAPI", "CaravanHealthAPI",
                "CaravanReflectionAPI", "CaravanEnvelope",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ],
            path: "Tests/CaravanTCPTests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CaravanPostgresTests",
            dependencies: [
                "CaravanPostgres", "CaravanTestSupport", "CaravanCore", "CaravanEchoAPI",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "_ConnectionPoolModule", package: "postgres-nio"),
            ],
            path: "Tests/CaravanPostgresTests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CaravanSQLiteTests",
            dependencies: ["CaravanSQLite", "CaravanCore"],
            path: "Tests/CaravanSQLiteTests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CaravanDomainTests",
            dependencies: ["CaravanDomain", "CaravanCore", "CaravanEchoAPI", "CaravanTrainingAPI"],
            path: "Tests/CaravanDomainTests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CaravanTradeTests",
            dependencies: [
                "CaravanTrade", "CaravanTradeAPI", "CaravanDomain", "CaravanSQLite", "CaravanServiceMain",
                "CaravanCore",
                "CaravanInProcess", "CaravanPostgres", "CaravanTestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            path: "Tests/CaravanTradeTests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CaravanLogisticsTests",
            dependencies: [
                "CaravanLogistics", "CaravanLogisticsAPI", "CaravanDomain", "CaravanSQLite", "CaravanServiceMain",
                "CaravanCore", "CaravanInProcess", "CaravanPostgres", "CaravanTestSupport",
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            path: "Tests/CaravanLogisticsTests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CaravanTrainingTests",
            dependencies: [
                "CaravanTraining", "CaravanTrainingAPI", "CaravanDomain", "CaravanSQLite", "CaravanServiceMain",
                "CaravanCore", "CaravanInProcess", "CaravanPostgres", "CaravanTestSupport",
            ],
            path: "Tests/CaravanTrainingTests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CaravanCLITests",
            dependencies: [
                "CaravanTestSupport",
                "CaravanCLI", "CaravanServer", "CaravanEcho", "CaravanEchoAPI", "CaravanTCP", "CaravanServiceKit",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "Atomics", package: "swift-atomics"),
            ],
            path: "Tests/CaravanCLITests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CaravanGatewayTests",
            dependencies: [
                "CaravanTestSupport",
                "CaravanGateway", "CaravanGatewayHTTP", "CaravanCore", "CaravanGatewayAPI", "CaravanTradeAPI",
                "CaravanLogisticsAPI", "CaravanTrainingAPI", "CaravanServiceKit", "CaravanDomain", "CaravanAuth",
                "CaravanServer", "CaravanEcho", "CaravanEchoAPI", "CaravanHealthAPI", "CaravanTestingAPI", "CaravanTCP",
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "Tests/CaravanGatewayTests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CaravanObservabilityTests",
            dependencies: [
                "CaravanTestSupport",
                "CaravanObservability", "CaravanCore", "CaravanServer", "CaravanTCP", "CaravanEcho", "CaravanEchoAPI",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Tests/CaravanObservabilityTests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CaravanEndToEndTests",
            dependencies: ["CaravanCLI", "CaravanAuth", "CaravanTestSupport", "CaravanPostgres"],
            path: "Tests/CaravanEndToEndTests",
            swiftSettings: swiftSettings
        ),
    ]
)
