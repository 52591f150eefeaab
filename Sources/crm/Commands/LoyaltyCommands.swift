import ArgumentParser
import CRMClient
import CRMCommandLine
import CRMMessages
import CRMWire
import Foundation

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
