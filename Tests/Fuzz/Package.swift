// swift-tools-version: 6.1
// A libFuzzer target for the frame decoder, kept out of the main package so
// that its sanitizer flags touch nothing else. Build and run it with
// .ci/fuzz.sh (see docs/PROTOCOL.md, "Fuzzing").
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
    ]
)
