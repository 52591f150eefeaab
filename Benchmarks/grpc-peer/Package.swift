// swift-tools-version:6.1
//
// The grpc-swift-2 peer of `crm-bench`: the same unary echo (a `HealthCheckRequest` with a
// 200-byte `service` string, answered with the same message) served and driven over
// HTTP/2 + TLS by grpc-swift-2 and grpc-swift-nio-transport, with the project's own
// protobuf-c message codec (CRMWire) as the serializer, so that only the protocol and
// the runtime differ from crm/1.
//
// A separate package so that the main build stays lean: its first release build compiles
// BoringSSL and swift-crypto (about 12 minutes on 2 cores). tools/bench-rpc builds and runs it.
//
// CRMWire is not a library product of the main package, so its sources (and the two C
// modules under it) are symbolic links into ../../Sources.
import PackageDescription

let package = Package(
    name: "grpc-peer",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(url: "https://github.com/grpc/grpc-swift-2.git", exact: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport.git", exact: "2.9.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
    ],
    targets: [
        .systemLibrary(name: "CProtobufC", pkgConfig: "libprotobuf-c", providers: [.apt(["libprotobuf-c-dev"])]),
        .target(name: "CRMProtoC", dependencies: ["CProtobufC"]),
        .target(
            name: "CRMWire",
            dependencies: ["CProtobufC", "CRMProtoC", .product(name: "NIOCore", package: "swift-nio")]
        ),
        .executableTarget(
            name: "grpc-peer",
            dependencies: [
                "CRMWire",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
