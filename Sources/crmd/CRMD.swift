import ArgumentParser
import CRMServer
import CRMTLS
import CRMWire

/// The CRM server.
@main
struct CRMD: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crmd",
        abstract: "The convergent after-sales CRM server.",
        version: CRMDVersion.text,
        subcommands: [Serve.self, TokenCommand.self, SeedCommand.self, BackupCommand.self, RestoreCommand.self, VerifyCommand.self, StoreCommand.self],
        defaultSubcommand: Serve.self
    )
}

enum CRMDVersion {
    static let number = "0.1.0"
    static var text: String { "crmd \(number) (\(OpenSSLLibrary.version), protobuf-c \(ProtobufCLibrary.version))" }
}
