// swift-tools-version:6.1
//
// The libFuzzer driver of the CRM's fuzz targets (Sources/CRMFuzzTargets in the package above). It is a package of its
// own so that only it is built with `--sanitize=fuzzer`: tools/fuzz builds and runs it.
import PackageDescription

let package = Package(
    name: "crm-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "crm", path: "..")],
    targets: [
        .executableTarget(
            name: "crm-fuzz",
            dependencies: [.product(name: "CRMFuzzTargets", package: "crm")]
        )
    ],
    swiftLanguageModes: [.v6]
)
