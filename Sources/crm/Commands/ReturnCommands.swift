import ArgumentParser
import CRMClient
import CRMCommandLine
import CRMMessages
import CRMWire
import Foundation

/// `crm return qc`: the warehouse's quality check of returned goods.
struct ReturnCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "return",
        abstract: "Record what the warehouse found in returned goods.",
        subcommands: [QualityCheck.self]
    )

    struct QualityCheck: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "qc",
            abstract: "Record the quality check of a RETURN complaint's goods.",
            discussion: """
                Items are SKU:RETURNED:ACCEPTED[:FINDING].
                Example: crm return qc CMP-7F3A --order SO-2024-00123 --verdict partial --item "MUG-01:3:2:one mug intact" \
                --shipping 30000 --received 2024-05-20
                """
        )

        @Argument(help: ArgumentHelp("The RETURN complaint's id.", valueName: "complaint-id"))
        var complaint: String

        @Option(help: ArgumentHelp("The order the goods came from.", valueName: "number"))
        var order: String

        @Option(help: ArgumentHelp("The overall verdict.", valueName: "verdict"))
        var verdict: EnumArgument<QualityCheckVerdict>

        @Option(name: .customLong("item"), help: ArgumentHelp("A returned item SKU:RETURNED:ACCEPTED[:FINDING]; repeat for several.", valueName: "item"), transform: parseQualityItem)
        var items: [QualityCheckItem] = []

        @Option(help: ArgumentHelp("Local shipping the customer paid to send it back, rupiah (we cover it).", valueName: "rupiah"))
        var shipping: String?

        @Option(help: ArgumentHelp("The day the goods arrived (YYYY-MM-DD; default today).", valueName: "date"))
        var received: String?

        @Option(help: "A note for the record.")
        var note: String = ""

        @Option(help: ArgumentHelp("Idempotency key, to retry safely (default: a new one).", valueName: "key"))
        var idempotencyKey: String?

        @OptionGroup var output: OutputOptions
        @OptionGroup var connection: ConnectionOptions

        func validate() throws {
            if items.isEmpty { throw ValidationError("give at least one --item SKU:RETURNED:ACCEPTED[:FINDING], e.g. --item MUG-01:3:2") }
            if let received { _ = try BusinessTime.startOfDay(received) }
        }

        func run() async throws {
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            let check = ReturnQualityCheck(
                key: commandKey(idempotencyKey), complaintID: complaint, orderNumber: order, items: items, verdict: verdict.value,
                localShippingRupiah: try shipping.map { try parseRupiah($0, field: "--shipping") } ?? 0,
                receivedMs: try received.map(BusinessTime.startOfDay) ?? now, checkedMs: now, note: note)
            let response = try await connection.withClient {
                try await $0.complaints.recordReturnQualityCheck(RecordReturnQualityCheckRequest(check: check))
            }
            guard let complaint = response.complaint else { throw CLIFailure(.failure, "the server sent no complaint") }
            try printComplaint(complaint, outcome: response.outcome, json: output.json)
        }
    }
}

/// `SKU:RETURNED:ACCEPTED[:FINDING]`.
func parseQualityItem(_ text: String) throws -> QualityCheckItem {
    let form = "write an item as SKU:RETURNED:ACCEPTED[:FINDING], e.g. --item \"MUG-01:3:2:one mug intact\""
    let parts = text.split(separator: ":", maxSplits: 3, omittingEmptySubsequences: false).map(String.init)
    guard parts.count >= 3, !parts[0].isEmpty, let returned = Int64(parts[1]), let accepted = Int64(parts[2]),
        returned >= 0, accepted >= 0
    else { throw ValidationError("'\(text)' is not an item; \(form)") }
    guard accepted <= returned else { throw ValidationError("'\(text)': ACCEPTED (\(accepted)) cannot exceed RETURNED (\(returned)); \(form)") }
    return QualityCheckItem(sku: parts[0], quantityReturned: returned, quantityAccepted: accepted, finding: parts.count == 4 ? parts[3] : "")
}
