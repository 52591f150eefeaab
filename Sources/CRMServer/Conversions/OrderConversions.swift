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
    /// - `estimated_delivery_ms` is optional: an order without one is never overdue and gets no delay notice until a
    ///   tracking event brings a revised estimate.
    /// - the delivery address is kept whole; its phone, when given, must be an Indonesian number (the courier calls
    ///   it) and is kept as written; the city decides free shipping. Of the totals the shipping, the
    ///   service fee, the discount and the paid amount; the server computes line totals, the subtotal, the total
    ///   (subtotal + shipping + fee − discount) and the outstanding amount (total − paid), and refuses a request whose
    ///   given values differ.
    /// - the payment plan kind is accepted (the instalment split is a function of the total) but not stored.
    /// - each of `contact_handles` becomes an identity link to the customer handle (order-system evidence).
    /// - each of `tracking_events` is stored as its own tracking fact.
    init(wire: CRMMessages.Order?, key: IdempotencyKey?, field: String, keyField: String, source: FactSource) throws(RequestFieldError) {
        let wire = try Check.present(wire, field)
        let id = try Check.key(key, keyField)
        let number = try Check.orderNumber(wire.orderNumber, field + ".order_number")
        let customer = try CRMDomain.Handle(wire: wire.customerHandle, field: field + ".customer_handle")
        let placed = try Check.requiredTime(wire.placedMs, field + ".placed_ms")
        let revision = wire.revisionMs == 0 ? placed : try Check.time(wire.revisionMs, field + ".revision_ms")
        let estimate = try wire.estimatedDeliveryMs.map { v throws(RequestFieldError) in try Check.time(v.value, field + ".estimated_delivery_ms.value") }
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
        for (name, value) in [("shipping_rupiah", totals.shippingRupiah), ("service_fee_rupiah", totals.serviceFeeRupiah),
                              ("discount_rupiah", totals.discountRupiah), ("paid_rupiah", totals.paidRupiah)] where value < 0 {
            throw RequestFieldError(field + ".totals." + name, "is \(value); give 0 or more")
        }
        if case .unrecognized(let n) = wire.paymentPlan?.kind {
            throw RequestFieldError(field + ".payment_plan.kind", "is \(n), a payment plan this server does not know")
        }
        let address = wire.deliveryAddress ?? DeliveryAddress()
        for (name, value) in [("recipient_name", address.recipientName), ("phone", address.phone), ("address_line", address.addressLine),
                              ("area", address.area), ("city", address.city), ("province", address.province), ("postal_code", address.postalCode)] {
            _ = try Check.bounded(value, field + ".delivery_address." + name, maximum: 500)
        }
        let delivery: DeliveryDetails
        do {
            delivery = try DeliveryDetails(
                recipient: address.recipientName, phone: address.phone, addressLine: address.addressLine, area: address.area,
                province: address.province, postalCode: address.postalCode)
        } catch {
            throw RequestFieldError(field + ".delivery_address.phone", error.description)
        }
        let record: OrderRecord
        do {
            record = try OrderRecord(
                orderNumber: number, customer: customer, items: items, placedAt: placed, estimatedDeliveryAt: estimate,
                destinationCity: address.city, shippingFee: totals.shippingRupiah, serviceFee: totals.serviceFeeRupiah,
                discount: totals.discountRupiah, paid: totals.paidRupiah, delivery: delivery)
        } catch {
            throw RequestFieldError(field, error.description)
        }
        if totals.itemsSubtotalRupiah != 0 && totals.itemsSubtotalRupiah != record.subtotal {
            throw RequestFieldError(field + ".totals.items_subtotal_rupiah", "is \(totals.itemsSubtotalRupiah) but the lines add up to \(record.subtotal)")
        }
        if totals.totalRupiah != 0 && totals.totalRupiah != record.total {
            throw RequestFieldError(field + ".totals.total_rupiah", "is \(totals.totalRupiah) but subtotal + shipping + fee − discount is \(record.total)")
        }
        if totals.outstandingRupiah != 0 && totals.outstandingRupiah != record.outstanding {
            throw RequestFieldError(field + ".totals.outstanding_rupiah", "is \(totals.outstandingRupiah) but total − paid is \(record.outstanding)")
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
    /// `location`, `note` and `revised_estimate_ms` are kept on the tracking fact; the revised estimate of the latest
    /// event (by event time) that carries one is the order's estimate in force, for reads and delay notices.
    static func fact(_ wire: CRMMessages.TrackingEvent, field: String, source: FactSource) throws(RequestFieldError) -> (Fact, OrderNumber) {
        let id = try Check.key(wire.key, field + ".key")
        let number = try Check.orderNumber(wire.orderNumber, field + ".order_number")
        let stage = try CRMDomain.TrackingStage(wire: wire.stage, field: field + ".stage")
        let at = try Check.requiredTime(wire.occurredMs, field + ".occurred_ms")
        let revised = try wire.revisedEstimateMs.map { v throws(RequestFieldError) in try Check.time(v.value, field + ".revised_estimate_ms.value") }
        _ = try Check.bounded(wire.location, field + ".location", maximum: 500)
        _ = try Check.bounded(wire.note, field + ".note", maximum: 2_000)
        let event = CRMDomain.TrackingEvent(orderNumber: number, stage: stage, location: wire.location, note: wire.note, revisedEstimate: revised)
        return (Fact(id: id, observedAt: at, source: source, payload: .tracking(event)), number)
    }
}

extension CRMMessages.OrderSummary {
    init(view: OrderView, now: Int64) {
        self.init(digest: OrderDigest(view), now: now)
    }

    init(digest: OrderDigest, now: Int64) {
        self.init(
            orderNumber: digest.orderNumber.rawValue, status: digest.status.orderStatus, placedMs: digest.placedAt,
            totalRupiah: digest.total, lineCount: UInt32(clamping: digest.lineCount),
            estimatedDeliveryMs: digest.estimatedDeliveryAt.map { Int64Value(value: $0) }, pastEstimate: digest.isOverdue(now: now))
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
            itemsSubtotalRupiah: r.subtotal, shippingRupiah: r.shippingFee, serviceFeeRupiah: r.serviceFee, discountRupiah: r.discount,
            totalRupiah: r.total, paidRupiah: r.paid, outstandingRupiah: r.outstanding)
        deliveryAddress = DeliveryAddress(
            recipientName: r.delivery.recipient, phone: r.delivery.phone, addressLine: r.delivery.addressLine, area: r.delivery.area,
            city: r.destinationCity, province: r.delivery.province, postalCode: r.delivery.postalCode)
        placedMs = r.placedAt
        estimatedDeliveryMs = view.estimatedDeliveryAt.map { Int64Value(value: $0) }
        status = view.status.orderStatus
        trackingEvents = view.tracking.map {
            CRMMessages.TrackingEvent(
                factID: $0.factID.rawValue, key: IdempotencyKey(factID: $0.factID), orderNumber: r.orderNumber.rawValue,
                stage: $0.stage.wire, occurredMs: $0.at, location: $0.location, note: $0.note,
                revisedEstimateMs: $0.revisedEstimate.map { Int64Value(value: $0) })
        }
        deliveredMs = view.deliveredAt.map { Int64Value(value: $0) }
        pastEstimate = view.isOverdue(now: now)
    }
}
