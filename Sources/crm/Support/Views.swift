import CRMCommandLine
import CRMMessages
import CRMWire

// The JSON shapes of `--json`: plain structs with stable field names (snake_case in the output),
// times as RFC 3339 in Jakarta time plus Unix milliseconds, money as whole rupiah, enums as
// their command-line words (`whatsapp`, `in-review`).

struct TimeView: Encodable {
    var ms: Int64
    var at: String

    init?(_ ms: Int64) {
        guard ms != 0 else { return nil }
        self.ms = ms
        at = BusinessTime.rfc3339(ms)
    }
}

struct IdentityView: Encodable {
    var handle: String
    var raw: String
    var channels: [String]
    var firstSeen: TimeView?
    var lastSeen: TimeView?

    init(_ i: Identity) {
        handle = i.handle.map(HandleSyntax.format) ?? ""
        raw = i.rawValue
        channels = i.channels.map(enumLabel)
        firstSeen = TimeView(i.firstSeenMs)
        lastSeen = TimeView(i.lastSeenMs)
    }
}

struct InteractionView: Encodable {
    var interactionID: String
    var customerID: String
    var channel: String
    var direction: String
    var handle: String
    var occurred: TimeView?
    var intent: String
    var subject: String
    var summary: String
    var body: String
    var orderNumber: String?
    var complaintID: String?
    var author: String?

    init(_ i: Interaction) {
        interactionID = i.interactionID
        customerID = i.customerID
        channel = enumLabel(i.channel)
        direction = enumLabel(i.direction)
        handle = i.handle.map(HandleSyntax.format) ?? ""
        occurred = TimeView(i.occurredMs)
        intent = enumLabel(i.intent)
        subject = i.subject
        summary = i.summary
        body = i.body
        orderNumber = i.orderNumber?.value
        complaintID = i.complaintID?.value
        author = i.author.map(\.name)
    }

    /// The summary, else the subject, else the body's start.
    var gist: String { !summary.isEmpty ? summary : !subject.isEmpty ? subject : body }
}

struct OrderSummaryView: Encodable {
    var orderNumber: String
    var status: String
    var placed: TimeView?
    var totalRupiah: Int64
    var lineCount: UInt32
    var estimatedDelivery: TimeView?
    var pastEstimate: Bool

    init(_ o: OrderSummary) {
        orderNumber = o.orderNumber
        status = enumLabel(o.status)
        placed = TimeView(o.placedMs)
        totalRupiah = o.totalRupiah
        lineCount = o.lineCount
        estimatedDelivery = o.estimatedDeliveryMs.flatMap { TimeView($0.value) }
        pastEstimate = o.pastEstimate
    }
}

struct ComplaintSummaryView: Encodable {
    var complaintID: String
    var customerID: String
    var orderNumber: String
    var category: String
    var state: String
    var opened: TimeView?
    var updated: TimeView?
    var slaBreached: Bool
    var compensationTotalRupiah: Int64
    var priority: String

    init(_ c: ComplaintSummary) {
        complaintID = c.complaintID
        customerID = c.customerID
        orderNumber = c.orderNumber
        category = enumLabel(c.category)
        state = enumLabel(c.state)
        opened = TimeView(c.openedMs)
        updated = TimeView(c.updatedMs)
        slaBreached = c.slaBreached
        compensationTotalRupiah = c.compensationTotalRupiah
        priority = enumLabel(c.priority)
    }
}

struct ProfileView: Encodable {
    struct Counters: Encodable {
        var interactions: UInt32
        var orders: UInt32
        var spendRupiah: Int64
        var complaints: UInt32
        var complaintsLast90Days: UInt32
        var complaintsOpen: UInt32
        var infoRequests: UInt32
        var infoRequestsLast90Days: UInt32

        /// The proto's names (`complaints_last_90_days`), which the snake-case conversion would spell `last90`.
        enum CodingKeys: String, CodingKey {
            case interactions, orders, spendRupiah, complaints, complaintsOpen, infoRequests
            case complaintsLast90Days = "complaints_last_90_days"
            case infoRequestsLast90Days = "info_requests_last_90_days"
        }
    }

    struct Field: Encodable {
        var field: String
        var value: String
        var source: String
    }

    var customerID: String
    var displayName: String
    var tier: String
    var isVvip: Bool
    var customerSince: TimeView?
    var tenureDays: UInt32
    var counters: Counters
    var identities: [IdentityView]
    var fields: [Field]
    var openComplaints: [ComplaintSummaryView]
    var recentOrders: [OrderSummaryView]
    var recentInteractions: [InteractionView]

    init(_ p: CustomerProfile) {
        customerID = p.customerID
        displayName = p.displayName
        tier = enumLabel(p.tier)
        isVvip = p.isVvip
        customerSince = TimeView(p.customerSinceMs)
        tenureDays = p.tenureDays
        let c = p.counters ?? ProfileCounters()
        counters = Counters(
            interactions: c.interactionsTotal, orders: c.ordersTotal, spendRupiah: c.spendTotalRupiah,
            complaints: c.complaintsTotal, complaintsLast90Days: c.complaintsLast90Days, complaintsOpen: c.complaintsOpen,
            infoRequests: c.infoRequestsTotal, infoRequestsLast90Days: c.infoRequestsLast90Days)
        identities = p.identities.map(IdentityView.init)
        fields = p.fields.map { Field(field: enumLabel($0.field), value: $0.value, source: enumLabel($0.source)) }
        openComplaints = p.openComplaints.map(ComplaintSummaryView.init)
        recentOrders = p.recentOrders.map(OrderSummaryView.init)
        recentInteractions = p.recentInteractions.map(InteractionView.init)
    }
}

struct ProfileMatchView: Encodable {
    var customerID: String
    var displayName: String
    var tier: String
    var handles: [String]
    var lastContact: TimeView?

    init(_ m: ProfileMatch) {
        customerID = m.customerID
        displayName = m.displayName
        tier = enumLabel(m.tier)
        handles = m.handles.map(HandleSyntax.format)
        lastContact = TimeView(m.lastContactMs)
    }
}

/// A page of a listing, with the token of the next page (absent on the last).
struct PageView<Item: Encodable>: Encodable {
    var items: [Item]
    var nextPageToken: String?
}

struct OrderView: Encodable {
    struct Item: Encodable {
        var sku: String
        var name: String
        var quantity: Int64
        var unitPriceRupiah: Int64
        var lineTotalRupiah: Int64
        var supplier: String
    }

    struct Tracking: Encodable {
        var stage: String
        var occurred: TimeView?
        var location: String
        var note: String
    }

    var orderNumber: String
    var customerID: String
    var customerHandle: String?
    var status: String
    var placed: TimeView?
    var estimatedDelivery: TimeView?
    var delivered: TimeView?
    var pastEstimate: Bool
    var items: [Item]
    var subtotalRupiah: Int64
    var shippingRupiah: Int64
    var serviceFeeRupiah: Int64
    var discountRupiah: Int64
    var totalRupiah: Int64
    var paidRupiah: Int64
    var outstandingRupiah: Int64
    var paymentPlan: String
    var city: String
    var delivery: Delivery?
    var tracking: [Tracking]

    /// Who receives the goods and where.
    struct Delivery: Encodable {
        var recipient: String
        var phone: String
        var address: String
        var area: String
        var city: String
        var province: String
        var postalCode: String

        /// One line for people: the parts given, in postal order.
        var line: String {
            let place = [address, area, city, [province, postalCode].filter { !$0.isEmpty }.joined(separator: " ")]
            return ([recipient, phone] + place).filter { !$0.isEmpty }.joined(separator: ", ")
        }
    }

    init(_ o: Order) {
        orderNumber = o.orderNumber
        customerID = o.customerID
        customerHandle = o.customerHandle.map(HandleSyntax.format)
        status = enumLabel(o.status)
        placed = TimeView(o.placedMs)
        estimatedDelivery = o.estimatedDeliveryMs.flatMap { TimeView($0.value) }
        delivered = o.deliveredMs.flatMap { TimeView($0.value) }
        pastEstimate = o.pastEstimate
        items = o.items.map {
            Item(sku: $0.sku, name: $0.name, quantity: $0.quantity, unitPriceRupiah: $0.unitPriceRupiah,
                lineTotalRupiah: $0.lineTotalRupiah, supplier: enumLabel($0.supplierPlatform))
        }
        let t = o.totals ?? OrderTotals()
        subtotalRupiah = t.itemsSubtotalRupiah
        shippingRupiah = t.shippingRupiah
        serviceFeeRupiah = t.serviceFeeRupiah
        discountRupiah = t.discountRupiah
        totalRupiah = t.totalRupiah
        paidRupiah = t.paidRupiah
        outstandingRupiah = t.outstandingRupiah
        paymentPlan = enumLabel(o.paymentPlan?.kind ?? .unspecified)
        city = o.deliveryAddress?.city ?? ""
        delivery = o.deliveryAddress.flatMap { a in
            a == DeliveryAddress() ? nil : Delivery(
                recipient: a.recipientName, phone: a.phone, address: a.addressLine, area: a.area, city: a.city, province: a.province,
                postalCode: a.postalCode)
        }
        tracking = o.trackingEvents.map {
            Tracking(stage: enumLabel($0.stage), occurred: TimeView($0.occurredMs), location: $0.location, note: $0.note)
        }
    }
}

struct CompensationView: Encodable {
    struct Line: Encodable {
        var kind: String
        var sku: String
        var quantity: Int64
        var unitAmountRupiah: Int64
        var amountRupiah: Int64
        var explanation: String
    }

    var lines: [Line]
    var totalRupiah: Int64

    init(_ q: CompensationQuote) {
        lines = q.lines.map {
            Line(kind: enumLabel($0.kind), sku: $0.sku, quantity: $0.quantity, unitAmountRupiah: $0.unitAmountRupiah,
                amountRupiah: $0.amountRupiah, explanation: $0.explanation)
        }
        totalRupiah = q.totalRupiah
    }

    func render() -> String {
        var table = Table(["KIND", "SKU", "QTY", "PER UNIT", "AMOUNT", "EXPLANATION"], rightAligned: [2, 3, 4])
        for l in lines {
            table.add([l.kind, l.sku, l.quantity == 0 ? "" : String(l.quantity),
                l.unitAmountRupiah == 0 ? "" : formatRupiah(l.unitAmountRupiah), formatRupiah(l.amountRupiah), l.explanation])
        }
        return table.render() + "\n" + Style.bold("Total: \(formatRupiah(totalRupiah))")
    }
}

struct ComplaintView: Encodable {
    struct Item: Encodable {
        var sku: String
        var name: String
        var ordered: Int64
        var received: Int64
        var broken: Int64
        var paidUnitPriceRupiah: Int64
        var correctUnitPriceRupiah: Int64
    }

    struct Transition: Encodable {
        var from: String
        var to: String
        var actor: String
        var at: TimeView?
        var note: String
    }

    struct Decision: Encodable {
        var resolution: String
        var rationale: String
        var decidedBy: String
        var compensation: CompensationView?
    }

    struct SLA: Encodable {
        var firstResponseDue: TimeView?
        var firstResponseAt: TimeView?
        var firstResponseBreached: Bool
        var resolutionDue: TimeView?
        var resolvedAt: TimeView?
        var resolutionBreached: Bool
    }

    var complaintID: String
    var customerID: String
    var orderNumber: String
    var category: String
    var returnReason: String
    var state: String
    var summary: String
    var priority: String
    var opened: TimeView?
    var updated: TimeView?
    var openedBy: String
    var items: [Item]
    var transitions: [Transition]
    var decision: Decision?
    var sla: SLA?
    var allowedNextStates: [String]

    init(_ c: Complaint) {
        complaintID = c.complaintID
        customerID = c.customerID
        orderNumber = c.orderNumber
        category = enumLabel(c.category)
        returnReason = enumLabel(c.returnReason)
        state = enumLabel(c.state)
        summary = c.summary
        priority = enumLabel(c.priority)
        opened = TimeView(c.openedMs)
        updated = TimeView(c.updatedMs)
        openedBy = c.openedBy.map(actorText) ?? ""
        items = c.items.map {
            Item(sku: $0.sku, name: $0.name, ordered: $0.quantityOrdered, received: $0.quantityReceived,
                broken: $0.quantityBroken, paidUnitPriceRupiah: $0.paidUnitPriceRupiah,
                correctUnitPriceRupiah: $0.correctUnitPriceRupiah)
        }
        transitions = c.transitions.map {
            Transition(from: enumLabel($0.fromState), to: enumLabel($0.toState), actor: $0.actor.map(actorText) ?? "",
                at: TimeView($0.atMs), note: $0.note)
        }
        decision = c.decision.map {
            Decision(resolution: enumLabel($0.resolution), rationale: $0.rationale,
                decidedBy: $0.decidedBy.map(actorText) ?? "", compensation: $0.compensation.map(CompensationView.init))
        }
        sla = c.serviceLevel.map {
            SLA(firstResponseDue: TimeView($0.firstResponseDueMs), firstResponseAt: $0.firstResponseAtMs.flatMap { TimeView($0.value) },
                firstResponseBreached: $0.firstResponseBreached, resolutionDue: TimeView($0.resolutionDueMs),
                resolvedAt: $0.resolvedAtMs.flatMap { TimeView($0.value) }, resolutionBreached: $0.resolutionBreached)
        }
        allowedNextStates = c.allowedNextStates.map(enumLabel)
    }
}

/// `Dewi (agent, sales)`.
func actorText(_ a: ActorRef) -> String {
    var parts = [enumLabel(a.role)]
    if a.team != .unspecified { parts.append(enumLabel(a.team)) }
    return a.name.isEmpty ? parts.joined(separator: ", ") : "\(a.name) (\(parts.joined(separator: ", ")))"
}

/// A state word, coloured by where it stands.
func stateText(_ state: String) -> String {
    switch state {
    case "closed": Style.good(state)
    case "rejected": Style.dim(state)
    case "opened", "reopened": Style.warn(state)
    default: Style.accent(state)
    }
}

/// An enum's word for a table, `-` when the server did not say.
func orDash(_ label: String) -> String {
    label == "unspecified" || label.isEmpty ? "-" : label
}
