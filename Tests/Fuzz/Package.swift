// swift-tools-version: 6.1
// libFuzzer targets for what a peer sends: frames (FrameFuzzer),
// messages, protobuf and the HTTP door's JSON (MessageFuzzer), and the rest
// of an HTTP request at the gateway's door: query, headers, bearer token
// (HTTPDoorFuzzer). Kept out of the main package so that their sanitizer
// flags touch nothing else. Build and run them with .ci/fuzz.sh (see
// docs/PROTOCOL.md, "Fuzzing").
import Foundation
import PackageDescription

/// The main package is two folders up. SwiftPM names a path dependency after
/// its folder, which differs between checkouts (a CI clone, a work tree).
let mainPackageName = URL(fileURLWithPath: Context.packageDirectory)
    .deletingLastPathComponent().deletingLastPathComponent().lastPathComponent

let package = Package(
    name: "CaravanFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: "../.."),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.3"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
    ],
    targets: [
        .target(name: "CFuzzerDriver", path: "CFuzzerDriver"),
        // What both targets share: libFuzzer's driver or the replay of
        // files, and the round-trip checks.
        .target(
            name: "FuzzSupport",
            dependencies: ["CFuzzerDriver", .product(name: "CaravanCore", package: mainPackageName)],
            path: "FuzzSupport",
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        .executableTarget(
            name: "FrameFuzzer",
            dependencies: [
                "FuzzSupport",
                .product(name: "CaravanTCP", package: mainPackageName),
                .product(name: "CaravanEnvelope", package: mainPackageName),
                .product(name: "CaravanEchoAPI", package: mainPackageName),
                .product(name: "CaravanCore", package: mainPackageName),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "FrameFuzzer",
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        .executableTarget(
            name: "MessageFuzzer",
            dependencies: [
                "FuzzSupport",
                .product(name: "CaravanCore", package: mainPackageName),
                .product(name: "CaravanEnvelope", package: mainPackageName),
                .product(name: "CaravanEchoAPI", package: mainPackageName),
                .product(name: "CaravanHealthAPI", package: mainPackageName),
                .product(name: "CaravanReflectionAPI", package: mainPackageName),
                .product(name: "CaravanTradeAPI", package: mainPackageName),
                .product(name: "CaravanLogisticsAPI", package: mainPackageName),
                .product(name: "CaravanTrainingAPI", package: mainPackageName),
                .product(name: "CaravanGatewayAPI", package: mainPackageName),
            ],
            path: "MessageFuzzer",
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        .executableTarget(
            name: "HTTPDoorFuzzer",
            dependencies: [
                "FuzzSupport",
                .product(name: "CaravanCore", package: mainPackageName),
                .product(name: "CaravanAuth", package: mainPackageName),
                .product(name: "CaravanDomain", package: mainPackageName),
                .product(name: "CaravanServiceKit", package: mainPackageName),
                .product(name: "CaravanGateway", package: mainPackageName),
                .product(name: "CaravanGatewayHTTP", package: mainPackageName),
                .product(name: "CaravanTradeAPI", package: mainPackageName),
                .product(name: "CaravanLogisticsAPI", package: mainPackageName),
                .product(name: "CaravanTrainingAPI", package: mainPackageName),
                .product(name: "CaravanGatewayAPI", package: mainPackageName),
                .product(name: "CaravanHealthAPI", package: mainPackageName),
                .product(name: "CaravanReflectionAPI", package: mainPackageName),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "HTTPDoorFuzzer",
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
    ]
)
