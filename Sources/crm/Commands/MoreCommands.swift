import ArgumentParser
import CRMClient
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

/// `crm loyalty show`.
struct LoyaltyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "loyalty",
        abstract: "Loyalty tiers and benefits.",
        subcommands: [Show.self]
    )

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a customer's tier, order value in the loyalty period, and benefits.",
            discussion: "Example: crm loyalty show phone:0812-3456-789"
        )

        @Argument(help: ArgumentHelp("The customer: \(HandleSyntax.help).", valueName: "customer"), transform: CustomerArgument.parse)
        var customer: CustomerArgument

        @Option(help: ArgumentHelp("Compute as of this day (YYYY-MM-DD; default now).", valueName: "date"))
        var asOf: String?

        @OptionGroup var output: OutputOptions
        @OptionGroup var connection: ConnectionOptions

        func validate() throws { if let asOf { _ = try BusinessTime.startOfDay(asOf) } }

        func run() async throws {
            let request = GetLoyaltyStatusRequest(
                customer: customer.selector, asOfMs: try asOf.map { Int64Value(value: try BusinessTime.endOfDay($0) - 1) })
            let response = try await connection.withClient { try await $0.loyalty.getLoyaltyStatus(request) }
            let l = response.loyalty ?? LoyaltyStatus()
            struct View: Encodable {
                var customerID: String
                var tier: String
                var isVvip: Bool
                var periodFrom: TimeView?
                var periodTo: TimeView?
                var orderValueRupiah: Int64
                var orderCount: UInt32
                var nextTier: String?
                var rupiahToNextTier: Int64
                var benefits: [String]
                var firstOrderDiscountAvailable: Bool
            }
            let view = View(
                customerID: l.customerID, tier: enumLabel(l.tier), isVvip: l.isVvip, periodFrom: l.period.flatMap { TimeView($0.fromMs) },
                periodTo: l.period.flatMap { TimeView($0.toMs) }, orderValueRupiah: l.orderValueRupiah, orderCount: l.orderCount,
                nextTier: l.nextTier == .unspecified ? nil : enumLabel(l.nextTier), rupiahToNextTier: l.rupiahToNextTier,
                benefits: l.benefits.map(enumLabel), firstOrderDiscountAvailable: l.firstOrderDiscountAvailable)
            try emit(view, json: output.json) { v in
                var pairs: [(String, String)] = [
                    ("customer", v.customerID),
                    ("tier", Style.bold(v.tier) + (v.isVvip ? " (VVIP)" : "")),
                    ("period", "\(v.periodFrom.map { BusinessTime.day($0.ms) } ?? "-") to \(v.periodTo.map { BusinessTime.day($0.ms - 1) } ?? "-")"),
                    ("order value", "\(formatRupiah(v.orderValueRupiah)) in \(v.orderCount) orders"),
                ]
                if let next = v.nextTier { pairs.append(("next tier", "\(next): \(formatRupiah(v.rupiahToNextTier)) to go")) }
                pairs.append(("benefits", v.benefits.isEmpty ? "-" : v.benefits.joined(separator: ", ")))
                if v.firstOrderDiscountAvailable { pairs.append(("first order", "new-customer discount available")) }
                return keyValues(pairs)
            }
        }
    }
}

/// `crm rate`: records a rating.
struct Rate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Record a customer's rating (1 to 5 stars) with a comment.",
        discussion: "Example: crm rate phone:0812-3456-789 --stars 4 --comment \"fast refund\" --complaint CMP-7F3A"
    )

    @Argument(help: ArgumentHelp("The customer: \(HandleSyntax.help). Omit for an anonymous public review.", valueName: "customer"), transform: CustomerArgument.parse)
    var customer: CustomerArgument?

    @Option(help: "Stars, 1 to 5.")
    var stars: UInt32

    @Option(help: "The customer's comment.")
    var comment: String = ""

    @Option(help: ArgumentHelp("Where it was given.", valueName: "source"))
    var source: EnumArgument<RatingSource> = EnumArgument(.agentRecorded)

    @Option(help: ArgumentHelp("The channel it came through.", valueName: "channel"))
    var channel: EnumArgument<Channel>?

    @Option(help: ArgumentHelp("The order it rates.", valueName: "number"))
    var order: String?

    @Option(help: ArgumentHelp("The complaint it rates.", valueName: "id"))
    var complaint: String?

    @Option(help: ArgumentHelp("Idempotency key, to retry safely (default: a new one).", valueName: "key"))
    var idempotencyKey: String?

    @OptionGroup var output: OutputOptions
    @OptionGroup var connection: ConnectionOptions

    func validate() throws {
        guard (1...5).contains(stars) else { throw ValidationError("--stars must be 1 to 5, e.g. --stars 4") }
    }

    func run() async throws {
        let request = SubmitRatingRequest(
            key: commandKey(idempotencyKey), customer: customer?.selector, stars: stars, comment: comment, source: source.value,
            channel: channel?.value ?? .unspecified, orderNumber: order.map { StringValue(value: $0) },
            complaintID: complaint.map { StringValue(value: $0) })
        let response = try await connection.withClient { try await $0.feedback.submitRating(request) }
        struct View: Encodable {
            var outcome: String
            var ratingID: String
            var stars: UInt32
        }
        let view = View(outcome: enumLabel(response.outcome), ratingID: response.rating?.ratingID ?? "", stars: stars)
        try emit(view, json: output.json) { v in
            "\(outcomeText(v.outcome)): \(String(repeating: "★", count: Int(v.stars)))\(String(repeating: "☆", count: 5 - Int(v.stars))) rating \(v.ratingID)."
        }
    }
}
