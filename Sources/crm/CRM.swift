import ArgumentParser
import CRMClient

/// The agents' command-line client.
@main
struct CRM: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crm",
        abstract: "The after-sales CRM from the command line: customers, timelines, orders, complaints, reports.",
        version: "crm 0.1.0"
    )
}
