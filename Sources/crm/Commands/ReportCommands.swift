import ArgumentParser
import CRMClient
import CRMCommandLine
import CRMMessages
import CRMWire
import Foundation

/// `crm report …`: analytical reports.
struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Refunds, complaint volume, service levels, ratings, loyalty tiers, retention and customer value.",
        subcommands: [Refunds.self, Volume.self, SLA.self, Ratings.self, Tiers.self, Retention.self, Value.self]
    )

    /// The period of a report: `--period` (today, this-month, last-month, …) or `--from`/`--to` days.
    struct Period: ParsableArguments {
        @Option(help: ArgumentHelp("A period relative to today (Jakarta time; weeks start on Monday), instead of --from/--to.", valueName: "period"))
        var period: RelativePeriod?

        @Option(help: ArgumentHelp("The first day (YYYY-MM-DD).", valueName: "date"))
        var from: String?

        @Option(help: ArgumentHelp("The last day, inclusive (YYYY-MM-DD; default today).", valueName: "date"))
        var to: String?

        func validate() throws { _ = try given() }

        /// The period named, or nil when none was.
        func given() throws -> TimeRange? { try reportPeriod(from: from, to: to, period: period) }

        /// The period named; a report that needs one refuses to run without it.
        func required() throws -> TimeRange {
            guard let range = try given() else {
                throw ValidationError("name the period: --period this-month (or today, this-week, last-month, this-year, …), or --from YYYY-MM-DD [--to YYYY-MM-DD]")
            }
            return range
        }
    }

    struct Refunds: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Refunds decided, by category and period.",
            discussion: "Example: crm report refunds --category lost-at-customs --from 2024-01-01 --to 2024-05-31 --by month\nExample: crm report refunds --period last-month"
        )

        @Option(help: ArgumentHelp("Only this category; repeat for several (default all four).", valueName: "category"))
        var category: [EnumArgument<ComplaintCategory>] = []

        @OptionGroup var period: Period

        @Option(help: ArgumentHelp("Bucket size.", valueName: "granularity"))
        var by: EnumArgument<ReportGranularity> = EnumArgument(.wholePeriod)

        @OptionGroup var output: OutputOptions
        @OptionGroup var connection: ConnectionOptions

        func validate() throws { _ = try period.required() }

        func run() async throws {
            let request = GetRefundRecapRequest(period: try period.required(), categories: category.map(\.value), granularity: by.value)
            let response = try await connection.withClient { try await $0.reports.getRefundRecap(request) }
            struct Row: Encodable {
                var category: String
                var from: String
                var to: String
                var complaintsDecided: UInt64
                var quantityCompensated: UInt64
                var refundRupiah: Int64
            }
            struct View: Encodable {
                var rows: [Row]
                var categoryTotals: [Row]
                var grandTotalRupiah: Int64
            }
            func row(_ r: RefundRecapRow) -> Row {
                Row(category: enumLabel(r.category), from: r.bucket.map { BusinessTime.day($0.fromMs) } ?? "",
                    to: r.bucket.map { BusinessTime.day($0.toMs - 1) } ?? "", complaintsDecided: r.complaintsDecided,
                    quantityCompensated: r.quantityCompensated, refundRupiah: r.refundRupiah)
            }
            let view = View(rows: response.rows.map(row), categoryTotals: response.categoryTotals.map(row), grandTotalRupiah: response.grandTotalRupiah)
            try emit(view, json: output.json) { v in
                var table = Table(["FROM", "TO", "CATEGORY", "DECIDED", "UNITS", "REFUND"], rightAligned: [3, 4, 5])
                for r in v.rows {
                    table.add([r.from, r.to, r.category, String(r.complaintsDecided), String(r.quantityCompensated), formatRupiah(r.refundRupiah)])
                }
                var out = table.render()
                if v.rows.count > v.categoryTotals.count {
                    var totals = Table(["CATEGORY", "DECIDED", "UNITS", "REFUND"], rightAligned: [1, 2, 3])
                    for r in v.categoryTotals {
                        totals.add([r.category, String(r.complaintsDecided), String(r.quantityCompensated), formatRupiah(r.refundRupiah)])
                    }
                    out += "\n\n" + Style.bold("By category") + "\n" + totals.render()
                }
                return out + "\n\n" + Style.bold("Total refunds: \(formatRupiah(v.grandTotalRupiah))")
            }
        }
    }

    struct Ratings: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Ratings by star value as a bar chart, with the average.",
            discussion: "Without a period: all time.\nExample: crm report ratings --period this-year --source google-review"
        )

        /// Absent: all time.
        @OptionGroup var period: Period

        @Option(help: ArgumentHelp("Only this source; repeat for several.", valueName: "source"))
        var source: [EnumArgument<RatingSource>] = []

        @OptionGroup var output: OutputOptions
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let request = GetRatingDistributionRequest(period: try period.given(), sources: source.map(\.value))
            let response = try await connection.withClient { try await $0.reports.getRatingDistribution(request) }
            struct Bucket: Encodable {
                var stars: UInt32
                var count: UInt64
                var sharePctX100: UInt32
            }
            struct View: Encodable {
                var buckets: [Bucket]
                var total: UInt64
                var averageX100: UInt32
            }
            let view = View(
                buckets: response.buckets.map { Bucket(stars: $0.stars, count: $0.count, sharePctX100: $0.sharePctX100) },
                total: response.total, averageX100: response.averageX100)
            try emit(view, json: output.json) { v in ratingChart(v.buckets.map { ($0.stars, $0.count, $0.sharePctX100) }, total: v.total, averageX100: v.averageX100) }
        }
    }

    struct SLA: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "sla",
            abstract: "First-response and resolution compliance by category.",
            discussion: "Example: crm report sla --from 2024-05-01 --to 2024-05-31\nExample: crm report sla --period this-week"
        )

        @OptionGroup var period: Period

        @Option(help: ArgumentHelp("Only this category; repeat for several.", valueName: "category"))
        var category: [EnumArgument<ComplaintCategory>] = []

        @OptionGroup var output: OutputOptions
        @OptionGroup var connection: ConnectionOptions

        func validate() throws { _ = try period.required() }

        func run() async throws {
            let request = GetServiceLevelReportRequest(period: try period.required(), categories: category.map(\.value))
            let response = try await connection.withClient { try await $0.reports.getServiceLevelReport(request) }
            struct Row: Encodable {
                var category: String
                var complaints: UInt64
                var firstResponseMet: UInt64
                var firstResponseBreached: UInt64
                var firstResponseCompliancePctX100: UInt32
                var resolutionMet: UInt64
                var resolutionBreached: UInt64
                var resolutionCompliancePctX100: UInt32
                var medianFirstResponseMs: Int64
                var medianResolutionMs: Int64
                var p90ResolutionMs: Int64
            }
            func row(_ r: ServiceLevelRow) -> Row {
                Row(category: r.category == .unspecified ? "all" : enumLabel(r.category), complaints: r.complaints,
                    firstResponseMet: r.firstResponseMet, firstResponseBreached: r.firstResponseBreached,
                    firstResponseCompliancePctX100: r.firstResponseCompliancePctX100, resolutionMet: r.resolutionMet,
                    resolutionBreached: r.resolutionBreached, resolutionCompliancePctX100: r.resolutionCompliancePctX100,
                    medianFirstResponseMs: r.medianFirstResponseMs, medianResolutionMs: r.medianResolutionMs, p90ResolutionMs: r.p90ResolutionMs)
            }
            struct View: Encodable {
                var rows: [Row]
                var overall: Row?
            }
            let view = View(rows: response.rows.map(row), overall: response.overall.map(row))
            try emit(view, json: output.json) { v in
                var table = Table(["CATEGORY", "COMPLAINTS", "1ST RESPONSE", "BREACHED", "RESOLUTION", "BREACHED", "MEDIAN 1ST", "MEDIAN RES", "P90 RES"],
                    rightAligned: [1, 2, 3, 4, 5, 6, 7, 8])
                for r in v.rows + (v.overall.map { [$0] } ?? []) {
                    func pct(_ x: UInt32) -> String { x >= 9000 ? Style.good(formatPercent(x)) : x >= 7500 ? Style.warn(formatPercent(x)) : Style.bad(formatPercent(x)) }
                    table.add([r.category == "all" ? Style.bold("all") : r.category, String(r.complaints), pct(r.firstResponseCompliancePctX100),
                        String(r.firstResponseBreached), pct(r.resolutionCompliancePctX100), String(r.resolutionBreached),
                        formatDuration(r.medianFirstResponseMs), formatDuration(r.medianResolutionMs), formatDuration(r.p90ResolutionMs)])
                }
                return table.render()
            }
        }
    }

    struct Tiers: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Customers by loyalty tier.",
            discussion: "Example: crm report tiers --as-of 2024-05-31\nExample: crm report tiers --period last-month"
        )

        @Option(help: ArgumentHelp("Compute as of the end of this day (YYYY-MM-DD; default now).", valueName: "date"))
        var asOf: String?

        @Option(help: ArgumentHelp("Compute as of the end of this period (today, last-month, …; now for a period not yet over), instead of --as-of.", valueName: "period"))
        var period: RelativePeriod?

        @OptionGroup var output: OutputOptions
        @OptionGroup var connection: ConnectionOptions

        func validate() throws { _ = try asOfMs() }

        /// The moment the tiers are computed at; nil means now.
        func asOfMs() throws -> Int64? {
            switch (asOf, period) {
            case (.some, .some): throw ValidationError("give --as-of or --period, not both")
            case (let day?, nil): return try BusinessTime.endOfDay(day) - 1
            case (nil, let period?):
                let now = BusinessTime.nowMs()
                let end = period.range(nowMs: now).toMs - 1
                return end < now ? end : nil
            case (nil, nil): return nil
            }
        }

        func run() async throws {
            let request = GetTierDistributionRequest(asOfMs: try asOfMs().map { Int64Value(value: $0) })
            let response = try await connection.withClient { try await $0.reports.getTierDistribution(request) }
            struct Row: Encodable {
                var tier: String
                var customers: UInt64
                var orderValueRupiah: Int64
                var sharePctX100: UInt32
            }
            struct View: Encodable {
                var tiers: [Row]
                var customersTotal: UInt64
            }
            let view = View(
                tiers: response.tiers.map { Row(tier: enumLabel($0.tier), customers: $0.customers, orderValueRupiah: $0.orderValueRupiah, sharePctX100: $0.sharePctX100) },
                customersTotal: response.customersTotal)
            try emit(view, json: output.json) { v in
                var table = Table(["TIER", "CUSTOMERS", "SHARE", "ORDER VALUE"], rightAligned: [1, 2, 3])
                for r in v.tiers {
                    table.add([r.tier, String(r.customers), formatPercent(r.sharePctX100), formatRupiah(r.orderValueRupiah)])
                }
                let chart = barChart(v.tiers.map { ($0.tier, $0.customers, formatPercent($0.sharePctX100)) })
                return table.render() + "\n\n" + chart + "\n\n" + "\(v.customersTotal) customers"
            }
        }
    }
}

/// The rating distribution as a bar chart, 5 stars first, with the average.
func ratingChart(_ buckets: [(stars: UInt32, count: UInt64, shareX100: UInt32)], total: UInt64, averageX100: UInt32) -> String {
    let sorted = buckets.sorted { $0.stars > $1.stars }
    let countWidth = sorted.map { String($0.count).count }.max() ?? 1
    let shareWidth = sorted.map { formatPercent($0.shareX100).count }.max() ?? 1
    func pad(_ s: String, _ width: Int) -> String { String(repeating: " ", count: max(0, width - s.count)) + s }
    let chart = barChart(sorted.map { b in
        ("\(b.stars) " + String(repeating: "★", count: Int(min(b.stars, 5))) + String(repeating: " ", count: 5 - Int(min(b.stars, 5))),
            b.count, pad(String(b.count), countWidth) + "  " + pad(formatPercent(b.shareX100), shareWidth))
    })
    let average = "\(averageX100 / 100).\(String(format: "%02d", averageX100 % 100))"
    return chart + "\n\n" + "\(total) ratings, average \(Style.bold(average)) stars"
}
