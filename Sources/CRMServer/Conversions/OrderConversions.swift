import CRMDomain
import CRMMessages
import CRMStore

/// A validated order upsert: the order fact, the tracking facts it carries, and the links of its contact handles.
struct OrderSubmission: Sendable {
    let fact: Fact
    let record: OrderRecord
    let extraFacts: [Fact]
}

extension OrderSubmission {
    /// The most lines one order may have.
    static let maximumLines = 1_000
    /// The most contact handles one order may carry.
    static let maximumContacts = 20

    /// Validates a wire order.
    ///
    /// Decisions, where the proto says more than the domain keeps:
    /// - `revision_ms` is the fact's time, so the newest revision wins (0 means `placed_ms`).
    /// - the domain needs an estimated delivery time (imported goods always have one): `estimated_delivery_ms` is
    ///   required.
    /// - of the delivery address only the city is kept (it decides free shipping); of the totals only the shipping
    ///   charged; the server computes line totals and the subtotal and refuses a request whose given values differ.
    /// - service fee, discount, paid amounts and the payment plan are not kept by the domain: a request with a
    ///   non-zero service fee, discount or paid amount is refused rather than stored without them; the payment plan
    ///   kind is accepted (the instalment split is a function of the total) but not stored.
    /// - each of `contact_handles` becomes an identity link to the customer handle (order-system evidence).
    /// - each of `tracking_events` is stored as its own tracking fact.
    init(wire: CRMMessages.Order?, key: IdempotencyKey?, field: String, keyField: String, source: FactSource) throws(RequestFieldError) {
        let wire = try Check.present(wire, field)
        let id = try Check.key(key, keyField)
        let number = try Check.orderNumber(wire.orderNumber, field + ".order_number")
        let customer = try CRMDomain.Handle(wire: wire.customerHandle, field: field + ".customer_handle")
        let placed = try Check.requiredTime(wire.placedMs, field + ".placed_ms")
        let revision = wire.revisionMs == 0 ? placed : try Check.time(wire.revisionMs, field + ".revision_ms")
        guard let estimate = wire.estimatedDeliveryMs else {
            throw RequestFieldError(field + ".estimated_delivery_ms", "is required: give the promised delivery time in Unix milliseconds")
        }
        if wire.items.isEmpty { throw RequestFieldError(field + ".items", "is empty: an order has at least one line") }
        guard wire.items.count <= Self.maximumLines else {
            throw RequestFieldError(field + ".items", "has \(wire.items.count) lines; at most \(Self.maximumLines) are allowed, split the order")
        }
        guard wire.contactHandles.count <= Self.maximumContacts else {
            throw RequestFieldError(
                field + ".contact_handles", "has \(wire.contactHandles.count) handles; at most \(Self.maximumContacts) are allowed")
        }
        var items: [CRMDomain.OrderItem] = []
        for (i, item) in wire.items.enumerated() {
            let path = "\(field).items[\(i)]"
            guard item.quantity >= 1 else { throw RequestFieldError(path + ".quantity", "is \(item.quantity); order at least 1 unit") }
            guard item.unitPriceRupiah >= 0 else {
                throw RequestFieldError(path + ".unit_price_rupiah", "is \(item.unitPriceRupiah); give the price paid per unit in rupiah, 0 or more")
            }
            let domainItem: CRMDomain.OrderItem
            do {
                domainItem = try CRMDomain.OrderItem(sku: item.sku, name: item.name, quantity: item.quantity, unitPrice: item.unitPriceRupiah)
            } catch {
                throw RequestFieldError(path, error.description)
            }
            if item.lineTotalRupiah != 0 && item.lineTotalRupiah != domainItem.lineTotal {
                throw RequestFieldError(path + ".line_total_rupiah", "is \(item.lineTotalRupiah) but quantity × unit price is \(domainItem.lineTotal)")
            }
            items.append(domainItem)
        }
        let totals = wire.totals ?? OrderTotals()
        if totals.serviceFeeRupiah != 0 || totals.discountRupiah != 0 || totals.paidRupiah != 0 {
            throw RequestFieldError(field + ".totals", "service fee, discount and paid amount are not kept by this server; send them as 0")
        }
        guard totals.shippingRupiah >= 0 else {
            throw RequestFieldError(field + ".totals.shipping_rupiah", "is \(totals.shippingRupiah); shipping is 0 or more")
        }
        if case .unrecognized(let n) = wire.paymentPlan?.kind {
            throw RequestFieldError(field + ".payment_plan.kind", "is \(n), a payment plan this server does not know")
        }
        let record: OrderRecord
        do {
            record = try OrderRecord(
                orderNumber: number, customer: customer, items: items, placedAt: placed, estimatedDeliveryAt: estimate.value,
                destinationCity: wire.deliveryAddress?.city ?? "", shippingFee: totals.shippingRupiah)
        } catch {
            throw RequestFieldError(field, error.description)
        }
        if totals.itemsSubtotalRupiah != 0 && totals.itemsSubtotalRupiah != record.subtotal {
            throw RequestFieldError(field + ".totals.items_subtotal_rupiah", "is \(totals.itemsSubtotalRupiah) but the lines add up to \(record.subtotal)")
        }
        if totals.totalRupiah != 0 && totals.totalRupiah != record.total {
            throw RequestFieldError(field + ".totals.total_rupiah", "is \(totals.totalRupiah) but subtotal + shipping is \(record.total)")
        }
        var extra: [Fact] = []
        for (i, contactWire) in wire.contactHandles.enumerated() {
            let contact = try CRMDomain.Handle(wire: contactWire, field: "\(field).contact_handles[\(i)]")
            guard contact != customer else { continue }
            do {
                let pair = try HandlePair(customer, contact)
                extra.append(Fact(id: try FactID("\(id.rawValue)/contact/\(i)"), observedAt: revision, source: source, payload: .identityLink(pair)))
            } catch {
                throw RequestFieldError("\(field).contact_handles[\(i)]", "\(error)")
            }
        }
        for (i, event) in wire.trackingEvents.enumerated() {
            let (fact, eventOrder) = try TrackingSubmission.fact(event, field: "\(field).tracking_events[\(i)]", source: source)
            guard eventOrder == number else {
                throw RequestFieldError("\(field).tracking_events[\(i)].order_number", "names another order than \(number)")
            }
            extra.append(fact)
        }
        self.fact = Fact(id: id, observedAt: revision, source: source, payload: .order(record))
        self.record = record
        self.extraFacts = extra
    }
}

/// Tracking-event validation.
enum TrackingSubmission {
    /// The fact of a wire tracking event and its order.
    ///
    /// Decision: `location`, `note` and `revised_estimate_ms` have no place in the domain's tracking event; a
    /// revised estimate is refused (send a new order revision with the new estimate instead) and location and note
    /// are kept only in the audit trail.
    static func fact(_ wire: CRMMessages.TrackingEvent, field: String, source: FactSource) throws(RequestFieldError) -> (Fact, OrderNumber) {
        let id = try Check.key(wire.key, field + ".key")
        let number = try Check.orderNumber(wire.orderNumber, field + ".order_number")
        let stage = try CRMDomain.TrackingStage(wire: wire.stage, field: field + ".stage")
        let at = try Check.requiredTime(wire.occurredMs, field + ".occurred_ms")
        if wire.revisedEstimateMs != nil {
            throw RequestFieldError(field + ".revised_estimate_ms", "revised estimates travel with the order: upsert a new revision of the order with the new estimated_delivery_ms")
        }
        return (Fact(id: id, observedAt: at, source: source, payload: .tracking(CRMDomain.TrackingEvent(orderNumber: number, stage: stage))), number)
    }
}

extension CRMMessages.OrderSummary {
    init(view: OrderView, now: Int64) {
        self.init(
            orderNumber: view.orderNumber.rawValue, status: view.status.orderStatus, placedMs: view.record.placedAt,
            totalRupiah: view.record.total, lineCount: UInt32(view.record.items.count),
            estimatedDeliveryMs: Int64Value(value: view.record.estimatedDeliveryAt), pastEstimate: view.isOverdue(now: now))
    }
}

extension CRMMessages.Order {
    init(view: OrderView, customerID: String, now: Int64) {
        let r = view.record
        self.init()
        orderNumber = r.orderNumber.rawValue
        self.customerID = customerID
        customerHandle = r.customer.wire
        items = r.items.map {
            CRMMessages.OrderItem(sku: $0.sku, name: $0.name, quantity: $0.quantity, unitPriceRupiah: $0.unitPrice, lineTotalRupiah: $0.lineTotal)
        }
        totals = OrderTotals(
            itemsSubtotalRupiah: r.subtotal, shippingRupiah: r.shippingFee, totalRupiah: r.total)
        var address = DeliveryAddress()
        address.city = r.destinationCity
        deliveryAddress = address
        placedMs = r.placedAt
        estimatedDeliveryMs = Int64Value(value: r.estimatedDeliveryAt)
        status = view.status.orderStatus
        trackingEvents = view.tracking.map {
            CRMMessages.TrackingEvent(
                factID: $0.factID.rawValue, key: IdempotencyKey(factID: $0.factID), orderNumber: r.orderNumber.rawValue,
                stage: $0.stage.wire, occurredMs: $0.at)
        }
        deliveredMs = view.deliveredAt.map { Int64Value(value: $0) }
        pastEstimate = view.isOverdue(now: now)
    }
}
