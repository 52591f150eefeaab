import ArgumentParser
import CRMClient
import CRMCommandLine
import CRMMessages
import CRMWire
import Foundation

/// The bucket of a report row as two days, the second inclusive; empty for a row without a bucket.
private func bucketDays(_ bucket: TimeRange?) -> (from: String, to: String) {
    guard let bucket else { return ("", "") }
    return (BusinessTime.day(bucket.fromMs), BusinessTime.day(bucket.toMs - 1))
}

/// The label of a bucket in a chart, by its size: `2024-05` for a month, `2024-Q2`, `2024`, else its first day.
private func bucketLabel(from: String, granularity: ReportGranularity) -> String {
    switch granularity {
    case .month: String(from.prefix(7))
    case .quarter: "\(from.prefix(4))-Q\(((Int(from.dropFirst(5).prefix(2)) ?? 1) - 1) / 3 + 1)"
    case .year: String(from.prefix(4))
    default: from
    }
}

extension ReportCommand {
    struct Volume: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Complaints opened, closed, rejected and reopened, by category and period, with a chart of the trend.",
            discussion: """
                With --by, a bar chart shows the complaints opened in each bucket; without it, those of each category.
                Example: crm report volume --period this-year --by month
                """
        )

        @OptionGroup var period: Period

        @Option(help: ArgumentHelp("Only this category; repeat for several (default all four).", valueName: "category"))
        var category: [EnumArgument<ComplaintCategory>] = []

        @Option(help: ArgumentHelp("Bucket size.", valueName: "granularity"))
        var by: EnumArgument<ReportGranularity> = EnumArgument(.wholePeriod)

        @OptionGroup var output: OutputOptions
        @OptionGroup var connection: ConnectionOptions

        func validate() throws { _ = try period.required() }

        func run() async throws {
            let request = GetComplaintVolumeRequest(period: try period.required(), categories: category.map(\.value), granularity: by.value)
            let response = try await connection.withClient { try await $0.reports.getComplaintVolume(request) }
            struct Row: Encodable {
                var category: String
                var from: String
                var to: String
                var opened: UInt64
                var closed: UInt64
                var rejected: UInt64
                var reopened: UInt64
            }
            struct View: Encodable {
                var rows: [Row]
                var openedTotal: UInt64
            }
            let view = View(
                rows: response.rows.map { r in
                    let days = bucketDays(r.bucket)
                    return Row(category: enumLabel(r.category), from: days.from, to: days.to, opened: r.opened, closed: r.closed,
                        rejected: r.rejected, reopened: r.reopened)
                },
                openedTotal: response.openedTotal)
            let bucketed = by.value != .wholePeriod && by.value != .unspecified
            try emit(view, json: output.json) { v in
                guard !v.rows.isEmpty else { return "No complaints in the period." }
                var table = Table(["FROM", "TO", "CATEGORY", "OPENED", "CLOSED", "REJECTED", "REOPENED"], rightAligned: [3, 4, 5, 6])
                for r in v.rows {
                    table.add([r.from, r.to, r.category, String(r.opened), String(r.closed), String(r.rejected), String(r.reopened)])
                }
                // Rows come by bucket then category: sum each bucket (or each category) for the chart, in that order.
                var order: [String] = []
                var opened: [String: UInt64] = [:]
                for r in v.rows {
                    let key = bucketed ? bucketLabel(from: r.from, granularity: by.value) : r.category
                    if opened[key] == nil { order.append(key) }
                    opened[key, default: 0] += r.opened
                }
                let chart = barChart(order.map { ($0, opened[$0]!, String(opened[$0]!)) })
                return table.render() + "\n\n" + Style.bold("Opened" + (bucketed ? " per bucket" : " per category")) + "\n" + chart
                    + "\n\n" + "\(v.openedTotal) complaints opened"
            }
        }
    }

    struct Retention: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Buying, new and returning customers, and the share who buy again, with a chart per bucket.",
            discussion: "Example: crm report retention --period this-year --by month"
        )

        @OptionGroup var period: Period

        @Option(help: ArgumentHelp("Bucket size.", valueName: "granularity"))
        var by: EnumArgument<ReportGranularity> = EnumArgument(.month)

        @OptionGroup var output: OutputOptions
        @OptionGroup var connection: ConnectionOptions

        func validate() throws { _ = try period.required() }

        func run() async throws {
            let request = GetRetentionReportRequest(period: try period.required(), granularity: by.value)
            let response = try await connection.withClient { try await $0.reports.getRetentionReport(request) }
            struct Row: Encodable {
                var from: String
                var to: String
                var buyingCustomers: UInt64
                var newCustomers: UInt64
                var returningCustomers: UInt64
                var retainedPctX100: UInt32
            }
            struct View: Encodable {
                var buyingCustomers: UInt64
                var repeatCustomers: UInt64
                var repeatPurchasePctX100: UInt32
                var rows: [Row]
            }
            let view = View(
                buyingCustomers: response.buyingCustomers, repeatCustomers: response.repeatCustomers,
                repeatPurchasePctX100: response.repeatPurchasePctX100,
                rows: response.rows.map { r in
                    let days = bucketDays(r.bucket)
                    return Row(from: days.from, to: days.to, buyingCustomers: r.buyingCustomers, newCustomers: r.newCustomers,
                        returningCustomers: r.returningCustomers, retainedPctX100: r.retainedPctX100)
                })
            try emit(view, json: output.json) { v in
                let summary = "\(v.buyingCustomers) customers bought in the period; \(v.repeatCustomers) of them more than once ("
                    + Style.bold(formatPercent(v.repeatPurchasePctX100)) + ")"
                guard !v.rows.isEmpty else { return summary }
                var table = Table(["FROM", "TO", "BUYING", "NEW", "RETURNING", "RETAINED"], rightAligned: [2, 3, 4, 5])
                for (i, r) in v.rows.enumerated() {
                    // The first bucket has no previous one to retain from.
                    table.add([r.from, r.to, String(r.buyingCustomers), String(r.newCustomers), String(r.returningCustomers),
                        i == 0 ? "-" : formatPercent(r.retainedPctX100)])
                }
                let chart = barChart(v.rows.map { r in
                    (bucketLabel(from: r.from, granularity: by.value), r.buyingCustomers, "\(r.buyingCustomers) (\(r.newCustomers) new, \(r.returningCustomers) returning)")
                })
                return table.render() + "\n\n" + Style.bold("Buying customers") + "\n" + chart + "\n\n" + summary
            }
        }
    }

    struct Value: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The customers worth most in a period: orders, refunds and net value, with a chart.",
            discussion: "Example: crm report value --period last-month --top 10 --tier gold"
        )

        @OptionGroup var period: Period

        @Option(help: ArgumentHelp("How many customers to list (1 to 1,000).", valueName: "n"))
        var top: UInt32 = 20

        @Option(help: ArgumentHelp("Only customers of this tier at the end of the period.", valueName: "tier"))
        var tier: EnumArgument<Tier>?

        @OptionGroup var output: OutputOptions
        @OptionGroup var connection: ConnectionOptions

        func validate() throws {
            _ = try period.required()
            guard (1...1000).contains(top) else { throw ValidationError("--top must be 1 to 1000, e.g. --top 20") }
        }

        func run() async throws {
            let request = GetCustomerValueReportRequest(period: try period.required(), topN: top, tier: tier?.value ?? .unspecified)
            let response = try await connection.withClient { try await $0.reports.getCustomerValueReport(request) }
            struct Row: Encodable {
                var customerID: String
                var displayName: String
                var tier: String
                var orderCount: UInt64
                var orderValueRupiah: Int64
                var refundRupiah: Int64
                var netValueRupiah: Int64
                var firstOrder: TimeView?
                var lastOrder: TimeView?
            }
            struct View: Encodable {
                var rows: [Row]
                var customersTotal: UInt64
                var averageOrderValueRupiah: Int64
                var averageCustomerValueRupiah: Int64
            }
            let view = View(
                rows: response.rows.map {
                    Row(customerID: $0.customerID, displayName: $0.displayName, tier: enumLabel($0.tier), orderCount: $0.orderCount,
                        orderValueRupiah: $0.orderValueRupiah, refundRupiah: $0.refundRupiah, netValueRupiah: $0.netValueRupiah,
                        firstOrder: TimeView($0.firstOrderMs), lastOrder: TimeView($0.lastOrderMs))
                },
                customersTotal: response.customersTotal, averageOrderValueRupiah: response.averageOrderValueRupiah,
                averageCustomerValueRupiah: response.averageCustomerValueRupiah)
            try emit(view, json: output.json) { v in
                let summary = "\(v.customersTotal) customers ordered; average order \(formatRupiah(v.averageOrderValueRupiah)), "
                    + "average net value per customer \(formatRupiah(v.averageCustomerValueRupiah))"
                guard !v.rows.isEmpty else { return summary }
                var table = Table(["CUSTOMER", "NAME", "TIER", "ORDERS", "ORDER VALUE", "REFUNDS", "NET VALUE", "LAST ORDER"], rightAligned: [3, 4, 5, 6])
                for r in v.rows {
                    table.add([r.customerID, orDash(r.displayName), r.tier, String(r.orderCount), formatRupiah(r.orderValueRupiah),
                        formatRupiah(r.refundRupiah), Style.bold(formatRupiah(r.netValueRupiah)), r.lastOrder.map { BusinessTime.day($0.ms) } ?? "-"])
                }
                let chart = barChart(v.rows.map { r in
                    (r.displayName.isEmpty ? r.customerID : oneLine(r.displayName, limit: 24), UInt64(max(0, r.netValueRupiah)), formatRupiah(r.netValueRupiah))
                })
                return table.render() + "\n\n" + Style.bold("Net value") + "\n" + chart + "\n\n" + summary
            }
        }
    }
}
