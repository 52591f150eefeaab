// swift-tools-version:6.1
//
// crm-protogen: makes the Swift value types, and their bridge to the C that protoc-c
// makes, from a FileDescriptorSet written by `protoc --descriptor_set_out`.
// Run through tools/gen-protos, never by hand.
import PackageDescription

let package = Package(
    name: "crm-protogen",
    targets: [
        .executableTarget(name: "crm-protogen")
    ],
    swiftLanguageModes: [.v6]
)
