import ArgumentParser
import CRMClient
import CRMCommandLine
import CRMMessages
import CRMWire
import Foundation

/// `crm order …`: orders from the order system.
struct OrderCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "order",
        abstract: "Import orders from CSV, show an order, list a customer's orders, add a tracking event, price an order's benefits.",
        subcommands: [Import.self, Show.self, List.self, Track.self, Benefits.self]
    )

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import orders from a CSV file; bad rows are reported by line, the rest imported.",
            discussion: """
                The first line is the header; then one row per order line. Rows with the same order_number make one \
                order, whose own columns are read from its first row.

                Required columns:
                  order_number        the order's number in the order system
                  customer            the customer as kind:value (oms:C-1001, phone:0812…)
                  placed              the day it was placed, YYYY-MM-DD
                  sku                 the line's stock-keeping unit
                  quantity            units, a whole number >= 1
                  unit_price          price of one unit, whole rupiah (45000 or 45.000)
                Optional columns:
                  item_name, supplier (alibaba-1688|taobao|tmall|other), supplier_url,
                  shipping, service_fee, discount, paid (rupiah, per order),
                  payment_plan (full-payment|instalment-50), estimated_delivery (YYYY-MM-DD),
                  contacts (more handles, ';'-separated: phone:0812…;email:a@b.c),
                  recipient, phone, address, area, city, province, postal_code
                Header names are case-insensitive. Each order's idempotency key is --source and a fingerprint of its \
                rows, so importing the same file again stores nothing twice; changed rows are a newer revision.

                Exit status 5 when any row was rejected (the others are imported).

                Example: crm order import orders-2024-05.csv
                """
        )

        @Argument(help: ArgumentHelp("The CSV file.", valueName: "file.csv"))
        var file: String

        @Option(help: ArgumentHelp("The importer's id in idempotency keys.", valueName: "id"))
        var source: String = "crm-cli-import"

        @Flag(help: "Only check the file; send nothing.")
        var dryRun = false

        @OptionGroup var output: OutputOptions
        @OptionGroup var connection: ConnectionOptions

        struct RowReport: Encodable {
            var line: Int
            var orderNumber: String
            var outcome: String
            var reasons: [String]
        }

        struct View: Encodable {
            var file: String
            var rows: Int
            var orders: Int
            var accepted: UInt64
            var duplicate: UInt64
            var rejected: Int
            var dryRun: Bool
            var problems: [RowReport]
        }

        /// Orders sent per ImportOrders stream.
        static let ordersPerStream = 10_000

        func run() async throws {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw CLIFailure(.usage, "cannot read \(file); give the path of a CSV file")
            }
            let text = String(decoding: data, as: UTF8.self)
            let parsed: OrderCSV.Result
            do {
                parsed = try OrderCSV.parse(text, adapterID: source, nowMs: Int64(Date().timeIntervalSince1970 * 1000))
            } catch let error as OrderCSV.FileError {
                throw CLIFailure(.invalid, "\(file): \(error.description)")
            }
            var problems = parsed.errors.map { RowReport(line: $0.line, orderNumber: $0.orderNumber, outcome: "rejected", reasons: [$0.message]) }
            var accepted: UInt64 = 0
            var duplicate: UInt64 = 0
            if !dryRun && !parsed.orders.isEmpty {
                let progress = ProgressBar(total: parsed.orders.count, enabled: !output.json && Style.isStderrTTY)
                let byRow = Dictionary(uniqueKeysWithValues: parsed.orders.map { ($0.rowNumber, $0) })
                defer { progress.finish() }
                // One stream per 10,000 orders: a response carries one result per order and must fit one message.
                var responses: [ImportOrdersResponse] = []
                for start in stride(from: 0, to: parsed.orders.count, by: Self.ordersPerStream) {
                    let orders = parsed.orders[start..<min(start + Self.ordersPerStream, parsed.orders.count)]
                    responses.append(try await connection.withClient { client in
                        try await client.orders.importOrders { requests in
                            for order in orders {
                                try await requests.write(ImportOrdersRequest(rowNumber: order.rowNumber, key: order.key, order: order.order))
                                progress.advance()
                            }
                        }
                    })
                }
                for response in responses {
                    accepted += response.acceptedCount
                    duplicate += response.duplicateCount
                    for result in response.results where result.outcome == .rejected {
                        let order = byRow[result.rowNumber]
                        let reasons = result.violations.map { $0.field.isEmpty ? $0.reason : "\($0.field): \($0.reason)" }
                        problems.append(RowReport(
                            line: order?.line ?? 0, orderNumber: order?.order.orderNumber ?? result.orderNumber, outcome: "rejected",
                            reasons: reasons.isEmpty ? ["rejected by the server"] : reasons))
                    }
                }
            }
            problems.sort { $0.line < $1.line }
            let view = View(
                file: file, rows: parsed.rowCount, orders: parsed.orders.count, accepted: accepted, duplicate: duplicate,
                rejected: problems.count, dryRun: dryRun, problems: problems)
            try emit(view, json: output.json) { v in
                var lines: [String] = []
                for p in v.problems {
                    lines.append(Style.bad("line \(p.line)") + (p.orderNumber.isEmpty ? "" : " (order \(p.orderNumber))") + ": " + p.reasons.joined(separator: "; "))
                }
                if v.dryRun {
                    lines.append("\(v.file): \(v.rows) rows, \(v.orders) orders ready, \(v.rejected) rows with problems (dry run: nothing sent).")
                } else {
                    lines.append("\(v.file): \(v.rows) rows, \(v.orders) orders: \(Style.good("\(v.accepted) imported")), \(v.duplicate) already known, \(v.rejected == 0 ? "0 rejected" : Style.bad("\(v.rejected) rejected")).")
                }
                return lines.joined(separator: "\n")
            }
            if !problems.isEmpty { throw ExitCode(ExitStatus.invalid.rawValue) }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show one order with its lines, money and tracking history.",
            discussion: "Example: crm order show SO-2024-00123"
        )

        @Argument(help: ArgumentHelp("The order number.", valueName: "number"))
        var number: String

        @OptionGroup var output: OutputOptions
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let response = try await connection.withClient { try await $0.orders.getOrder(GetOrderRequest(orderNumber: number)) }
            guard let order = response.order else { throw CLIFailure(.failure, "the server sent no order") }
            try emit(OrderView(order), json: output.json) { o in
                var out: [String] = []
                out.append(Style.bold("Order \(o.orderNumber)") + "  " + stateText(o.status))
                out.append(keyValues([
                    ("customer", [o.customerID, o.customerHandle ?? ""].filter { !$0.isEmpty }.joined(separator: "  ")),
                    ("placed", o.placed.map { BusinessTime.minute($0.ms) } ?? "-"),
                    ("estimated delivery", (o.estimatedDelivery.map { BusinessTime.day($0.ms) } ?? "-") + (o.pastEstimate ? " " + Style.bad("(late)") : "")),
                    ("delivered", o.delivered.map { BusinessTime.minute($0.ms) } ?? "-"),
                    ("deliver to", o.delivery?.line ?? "-"),
                    ("payment", orDash(o.paymentPlan)),
                    ("total", "\(formatRupiah(o.totalRupiah)) (items \(formatRupiah(o.subtotalRupiah)), shipping \(formatRupiah(o.shippingRupiah)), fee \(formatRupiah(o.serviceFeeRupiah)), discount \(formatRupiah(o.discountRupiah)))"),
                    ("paid", "\(formatRupiah(o.paidRupiah)), outstanding \(formatRupiah(o.outstandingRupiah))"),
                ]))
                var items = Table(["SKU", "NAME", "QTY", "UNIT PRICE", "LINE TOTAL", "SUPPLIER"], rightAligned: [2, 3, 4])
                for i in o.items {
                    items.add([i.sku, i.name, String(i.quantity), formatRupiah(i.unitPriceRupiah), formatRupiah(i.lineTotalRupiah), orDash(i.supplier)])
                }
                out.append("\n" + items.render())
                if !o.tracking.isEmpty {
                    var tracking = Table(["TIME", "STAGE", "LOCATION", "NOTE"])
                    for t in o.tracking {
                        tracking.add([t.occurred.map { BusinessTime.minute($0.ms) } ?? "", t.stage, t.location, oneLine(t.note)])
                    }
                    out.append("\n" + Style.bold("Tracking") + "\n" + tracking.render())
                }
                return out.joined(separator: "\n")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List a customer's orders, newest first.",
            discussion: "Example: crm order list oms:C-1001 --late"
        )

        @Argument(help: ArgumentHelp("The customer: \(HandleSyntax.help).", valueName: "customer"), transform: CustomerArgument.parse)
        var customer: CustomerArgument

        @Option(help: ArgumentHelp("Only this status; repeat for several.", valueName: "status"))
        var status: [EnumArgument<OrderStatus>] = []

        @Flag(help: "Only orders past their estimated delivery and not delivered.")
        var late = false

        @Option(help: "Orders per page (default 20).")
        var limit: UInt32 = 20

        @Option(help: ArgumentHelp("The token printed after the previous page.", valueName: "token"))
        var pageToken: String?

        @OptionGroup var output: OutputOptions
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let request = ListOrdersRequest(
                customer: customer.selector, statuses: status.map(\.value), pastEstimateOnly: late,
                page: PageRequest(pageSize: limit, pageToken: pageToken ?? ""))
            let response = try await connection.withClient { try await $0.orders.listOrders(request) }
            let view = PageView(items: response.orders.map(OrderSummaryView.init), nextPageToken: nextToken(response.page))
            try emit(view, json: output.json) { v in
                v.items.isEmpty ? "No orders." : orderTable(v.items) + pageHint(v.nextPageToken)
            }
        }
    }
}

extension OrderCommand {
    struct Track: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a tracking event to an order (shipped from China, at customs, in the warehouse, delivered, …).",
            discussion: """
                Events are applied in the order they happened, whatever order they arrive in; the order's status is \
                the furthest stage reached (cancelled overrides). Sending the same --idempotency-key again stores nothing twice.
                Example: crm order track SO-2024-00123 --status shipped-from-china --at 2024-05-03T14:30 --location Guangzhou
                """
        )

        @Argument(help: ArgumentHelp("The order number.", valueName: "number"))
        var number: String

        @Option(help: ArgumentHelp("The stage reached.", valueName: "stage"))
        var status: EnumArgument<TrackingStage>

        @Option(help: ArgumentHelp("When it happened: YYYY-MM-DD or YYYY-MM-DDTHH:MM, Jakarta time.", valueName: "time"))
        var at: String

        @Option(help: "Where it happened, e.g. Guangzhou or Tanjung Priok.")
        var location: String = ""

        @Option(help: "A note, e.g. the carrier's message.")
        var note: String = ""

        @Option(help: ArgumentHelp("A new estimated delivery day this event brings (YYYY-MM-DD).", valueName: "date"))
        var estimate: String?

        @Option(help: ArgumentHelp("Idempotency key, to retry safely (default: a new one).", valueName: "key"))
        var idempotencyKey: String?

        @OptionGroup var output: OutputOptions
        @OptionGroup var connection: ConnectionOptions

        func validate() throws {
            _ = try BusinessTime.moment(at)
            if let estimate { _ = try BusinessTime.startOfDay(estimate) }
        }

        struct View: Encodable {
            var outcome: String
            var factID: String
            var order: OrderSummaryView?
        }

        func run() async throws {
            var event = TrackingEvent()
            event.key = commandKey(idempotencyKey)
            event.orderNumber = number
            event.stage = status.value
            event.occurredMs = try BusinessTime.moment(at)
            event.location = location
            event.note = note
            if let estimate { event.revisedEstimateMs = Int64Value(value: try BusinessTime.startOfDay(estimate)) }
            let response = try await connection.withClient { try await $0.orders.addTrackingEvent(AddTrackingEventRequest(event: event)) }
            let view = View(outcome: enumLabel(response.outcome), factID: response.factID, order: response.order.map(OrderSummaryView.init))
            try emit(view, json: output.json) { v in
                let what = v.outcome == "duplicate" ? "Already recorded" : "Recorded"
                var line = "\(what): order \(number) \(status) at \(BusinessTime.minute(event.occurredMs))"
                if !location.isEmpty { line += " in \(location)" }
                if let o = v.order {
                    line += ". The order is now " + stateText(o.status)
                    if let e = o.estimatedDelivery { line += ", estimated delivery \(BusinessTime.day(e.ms))" + (o.pastEstimate ? " " + Style.bad("(late)") : "") }
                }
                return line + "."
            }
        }
    }
}

/// A progress bar on standard error, drawn only on a terminal.
final class ProgressBar: @unchecked Sendable {
    private let total: Int
    private let enabled: Bool
    private let noun: String
    private var done = 0
    private var lastDrawn = -1

    /// A bar for `total` items called `noun` ("orders").
    init(total: Int, enabled: Bool, noun: String = "orders") {
        self.total = max(total, 1)
        self.enabled = enabled
        self.noun = noun
    }

    func advance() {
        done += 1
        draw()
    }

    private func draw() {
        guard enabled else { return }
        let width = 30
        let filled = done * width / total
        guard filled != lastDrawn || done == total else { return }
        lastDrawn = filled
        let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
        FileHandle.standardError.write(Data("\r\(bar) \(done)/\(total) \(noun) sent".utf8))
    }

    func finish() {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }
}

extension OrderCommand {
    struct Benefits: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Which programs apply to an order (stored, or a draft not yet placed), why, and what they save.",
            discussion: """
                Give a stored order's number, or describe a draft with --item (and --customer, --city, --instalment).
                Example: crm order benefits SO-2024-00123
                Example: crm order benefits --customer phone:0812-3456-789 --item MUG-01:30:45000 --city "Kota Bekasi" --instalment
                """
        )

        @Argument(help: ArgumentHelp("A stored order's number.", valueName: "number"))
        var number: String?

        @Option(help: ArgumentHelp("The draft's customer: \(HandleSyntax.help). Omit for someone not yet known.", valueName: "customer"), transform: CustomerArgument.parse)
        var customer: CustomerArgument?

        @Option(help: ArgumentHelp("A line of the draft as SKU:QUANTITY:UNIT_PRICE (rupiah); repeat for several.", valueName: "line"))
        var item: [String] = []

        @Option(help: ArgumentHelp("The draft's delivery city, e.g. \"Kota Bekasi\".", valueName: "city"))
        var city: String?

        @Flag(help: "The draft would be paid by the 50 % instalment plan.")
        var instalment = false

        @OptionGroup var output: OutputOptions
        @OptionGroup var connection: ConnectionOptions

        func validate() throws { _ = try subject() }

        func subject() throws -> GetOrderBenefitsRequest.Subject {
            let draftGiven = customer != nil || !item.isEmpty || city != nil || instalment
            if let number {
                guard !draftGiven else { throw ValidationError("give a stored order's number or a draft (--item, --customer, --city, --instalment), not both") }
                return .orderNumber(number)
            }
            guard !item.isEmpty else { throw ValidationError("give a stored order's number, or a draft's lines with --item SKU:QUANTITY:UNIT_PRICE") }
            let lines = try item.map { text -> OrderItem in
                let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
                guard parts.count == 3, !parts[0].isEmpty, let quantity = Int64(parts[1]), quantity > 0 else {
                    throw ValidationError("--item '\(text)' is not a line; write SKU:QUANTITY:UNIT_PRICE, e.g. MUG-01:30:45000")
                }
                let price = try parseRupiah(parts[2], field: "--item \(parts[0]) unit price")
                let (total, overflow) = quantity.multipliedReportingOverflow(by: price)
                guard !overflow else { throw ValidationError("--item '\(text)' comes to more rupiah than can be counted; check the quantity and price") }
                return OrderItem(sku: parts[0], quantity: quantity, unitPriceRupiah: price, lineTotalRupiah: total)
            }
            return .draft(OrderDraft(
                customer: customer?.selector, items: lines, deliveryAddress: city.map { DeliveryAddress(city: $0) },
                paymentPlanKind: instalment ? .instalment50 : .fullPayment))
        }

        func run() async throws {
            let request = GetOrderBenefitsRequest(subject: try subject())
            let response = try await connection.withClient { try await $0.loyalty.getOrderBenefits(request) }
            struct Benefit: Encodable {
                var kind: String
                var applies: Bool
                var reason: String
                var savingRupiah: Int64
            }
            struct Instalment: Encodable {
                var downPaymentPercent: UInt32
                var downPaymentRupiah: Int64
                var balanceRupiah: Int64
            }
            struct View: Encodable {
                var tier: String
                var benefits: [Benefit]
                var totalSavingRupiah: Int64
                var instalmentPlan: Instalment?
            }
            let view = View(
                tier: enumLabel(response.tier),
                benefits: response.benefits.map { Benefit(kind: enumLabel($0.kind), applies: $0.applies, reason: $0.reason, savingRupiah: $0.savingRupiah) },
                totalSavingRupiah: response.totalSavingRupiah,
                instalmentPlan: response.instalmentPlan.map {
                    Instalment(downPaymentPercent: $0.downPaymentPercent, downPaymentRupiah: $0.downPaymentRupiah, balanceRupiah: $0.balanceRupiah)
                })
            try emit(view, json: output.json) { v in
                var table = Table(["BENEFIT", "APPLIES", "SAVES", "WHY"], rightAligned: [2])
                for b in v.benefits {
                    table.add([b.kind, b.applies ? Style.good("yes") : Style.dim("no"), b.savingRupiah == 0 ? "-" : formatRupiah(b.savingRupiah), b.reason])
                }
                var out = keyValues([("tier", Style.bold(orDash(v.tier)))]) + "\n\n" + table.render()
                if let plan = v.instalmentPlan {
                    out += "\n\n" + "Instalment: \(plan.downPaymentPercent) % down, \(formatRupiah(plan.downPaymentRupiah)) now and "
                        + "\(formatRupiah(plan.balanceRupiah)) when the goods arrive"
                }
                return out + "\n\n" + Style.bold("Total saving: \(formatRupiah(v.totalSavingRupiah))")
            }
        }
    }
}
