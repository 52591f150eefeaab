import Testing
@testable import CRMDomain

@Suite("Orders: lines, totals and refusals")
struct OrderTests {
    @Test("Totals are the sum of quantity × unit price, plus shipping")
    func totals() throws {
        let record = try orderRecord("ORD-1", customer: oms("C-1"), items: [("A", 3, 25_000), ("B", 2, 1_000_000)], placedAt: 0, shippingFee: 50_000)
        #expect(record.items.map(\.lineTotal) == [75_000, 2_000_000])
        #expect(record.subtotal == 2_075_000)
        #expect(record.total == 2_125_000)
    }

    @Test("Service fee and discount change the total; outstanding is the total less what was paid")
    func feesDiscountPaid() throws {
        let o = try OrderRecord(
            orderNumber: orderNo("ORD-6"), customer: oms("C-1"), items: [OrderItem(sku: "A", name: "", quantity: 2, unitPrice: 100_000)],
            placedAt: 0, estimatedDeliveryAt: nil, destinationCity: "", shippingFee: 20_000, serviceFee: 10_000, discount: 30_000, paid: 150_000)
        #expect(o.subtotal == 200_000 && o.total == 200_000 && o.outstanding == 50_000)
        #expect(throws: OrderError.discountExceedsCharges(discount: 300_000, charged: 200_000)) {
            try OrderRecord(
                orderNumber: orderNo("ORD-6"), customer: oms("C-1"), items: [OrderItem(sku: "A", name: "", quantity: 2, unitPrice: 100_000)],
                placedAt: 0, estimatedDeliveryAt: nil, destinationCity: "", discount: 300_000)
        }
        #expect(throws: OrderError.negativeAmount(field: "paid amount", value: -1)) {
            try OrderRecord(
                orderNumber: orderNo("ORD-6"), customer: oms("C-1"), items: [OrderItem(sku: "A", name: "", quantity: 1, unitPrice: 1)],
                placedAt: 0, estimatedDeliveryAt: nil, destinationCity: "", paid: -1)
        }
    }

    @Test("Order line refusals carry the exact reason")
    func lineRefusals() {
        #expect(throws: OrderError.emptySKU) { try OrderItem(sku: " ", name: "x", quantity: 1, unitPrice: 1) }
        #expect(throws: OrderError.nonPositiveQuantity(sku: "A", quantity: 0)) { try OrderItem(sku: "A", name: "x", quantity: 0, unitPrice: 1) }
        #expect(throws: OrderError.negativeUnitPrice(sku: "A", unitPrice: -5)) { try OrderItem(sku: "A", name: "x", quantity: 1, unitPrice: -5) }
        #expect(throws: OrderError.amountOverflow(sku: "A")) { try OrderItem(sku: "A", name: "x", quantity: 2, unitPrice: .max) }
    }

    @Test("Order refusals carry the exact reason")
    func orderRefusals() throws {
        let c = try oms("C-1")
        let n = try orderNo("ORD-1")
        let a = try OrderItem(sku: "A", name: "a", quantity: 1, unitPrice: .max)
        let b = try OrderItem(sku: "B", name: "b", quantity: 1, unitPrice: 1)
        #expect(throws: OrderError.noItems(n)) {
            try OrderRecord(orderNumber: n, customer: c, items: [], placedAt: 0, estimatedDeliveryAt: 1, destinationCity: "")
        }
        #expect(throws: OrderError.duplicateSKU("B")) {
            try OrderRecord(orderNumber: n, customer: c, items: [b, b], placedAt: 0, estimatedDeliveryAt: 1, destinationCity: "")
        }
        #expect(throws: OrderError.amountOverflow(sku: nil)) {
            try OrderRecord(orderNumber: n, customer: c, items: [a, b], placedAt: 0, estimatedDeliveryAt: 1, destinationCity: "")
        }
        #expect(throws: OrderError.amountOverflow(sku: nil)) {
            try OrderRecord(orderNumber: n, customer: c, items: [a], placedAt: 0, estimatedDeliveryAt: 1, destinationCity: "", shippingFee: 1)
        }
        #expect(throws: OrderError.estimateBeforePlacement(placedAt: 10, estimatedDeliveryAt: 9)) {
            try OrderRecord(orderNumber: n, customer: c, items: [b], placedAt: 10, estimatedDeliveryAt: 9, destinationCity: "")
        }
        #expect(throws: OrderError.negativeShippingFee(-1)) {
            try OrderRecord(orderNumber: n, customer: c, items: [b], placedAt: 0, estimatedDeliveryAt: 1, destinationCity: "", shippingFee: -1)
        }
        #expect(OrderError.duplicateSKU("B").description == "SKU B appears on two lines; merge them into one line with the summed quantity.")
    }
}

@Suite("Order tracking: status from the set of events")
struct OrderTrackingTests {
    @Test("The status is the furthest stage whatever the arrival order", arguments: [
        [TrackingStage.paid, .ordered, .atCustoms, .shippedFromChina],
        [.atCustoms, .paid, .shippedFromChina, .ordered],
        [.shippedFromChina, .atCustoms, .atCustoms, .paid],
    ])
    func furthestStage(stages: [TrackingStage]) {
        #expect(OrderTracking.status(of: stages) == .atCustoms)
    }

    @Test("Delivered beats a cancellation; a cancellation beats progress; no events means ordered")
    func finalStages() {
        #expect(OrderTracking.status(of: [.cancelled, .delivered, .paid]) == .delivered)
        #expect(OrderTracking.status(of: [.shippedFromChina, .cancelled]) == .cancelled)
        #expect(OrderTracking.status(of: []) == .ordered)
    }

    @Test("A late 'at customs' after 'delivered' does not move the order back")
    func noRegression() throws {
        let p = ProfileProjection(facts: [
            try order("o", "ORD-1", customer: oms("C-1"), placedAt: 0),
            try track("t2", "ORD-1", .delivered, at: 100),
            try track("t1", "ORD-1", .atCustoms, at: 50),
        ])
        let view = try #require(p.profile(for: try oms("C-1"))?.orders.first)
        #expect(view.status == .delivered)
        #expect(view.deliveredAt == 100)
        #expect(view.tracking.map(\.stage) == [.atCustoms, .delivered])
    }

    @Test("An order view counts each tracking fact once")
    func dedupTracking() throws {
        let record = try orderRecord("ORD-1", customer: oms("C-1"), placedAt: 0)
        let event = TrackingRecord(stage: .paid, at: 5, factID: try FactID("t"))
        let view = OrderView(record: record, recordFactID: try FactID("o"), tracking: [event, event])
        #expect(view.tracking.count == 1)
    }
}

@Suite("Proactive delay notices")
struct DelayNoticeTests {
    let customer: Handle
    let estimate = jan2024 + 60 * day

    init() throws { customer = try oms("C-1") }

    func view(events: [TrackingStage] = [.shippedFromChina], estimate: Int64? = nil) throws -> OrderView {
        let record = try orderRecord("ORD-9", customer: customer, placedAt: jan2024, estimate: estimate ?? self.estimate)
        let tracking = try events.enumerated().map { TrackingRecord(stage: $1, at: jan2024 + Int64($0), factID: try FactID("t\($0)")) }
        return OrderView(record: record, recordFactID: try FactID("o"), tracking: tracking)
    }

    @Test("A notice is due only strictly after the estimate, and only while undelivered")
    func dueOnlyWhenOverdue() throws {
        #expect(DelayNotice.due(for: try view(), now: estimate) == nil)
        let notice = try #require(DelayNotice.due(for: try view(), now: estimate + 1))
        #expect(notice.id == DelayNoticeID(orderNumber: try orderNo("ORD-9"), estimatedDeliveryAt: estimate))
        #expect(notice.id.description == "delay/ORD-9/\(estimate)")
        #expect(notice.customer == customer)
        #expect(notice.daysLate == 0)
        #expect(notice.message.hasPrefix("Pesanan ORD-9 terlambat dari estimasi pengiriman (status: dikirim dari China)."))
        #expect(DelayNotice.due(for: try view(), now: estimate + 3 * day)?.daysLate == 3)
        #expect(DelayNotice.due(for: try view(events: [.delivered]), now: estimate + day) == nil)
        #expect(DelayNotice.due(for: try view(events: [.cancelled]), now: estimate + day) == nil)
    }

    @Test("An order without an estimate is never overdue and gets no notice")
    func noEstimate() throws {
        let record = try OrderRecord(
            orderNumber: orderNo("ORD-5"), customer: customer, items: [OrderItem(sku: "A", name: "", quantity: 1, unitPrice: 10)],
            placedAt: jan2024, estimatedDeliveryAt: nil, destinationCity: "")
        let view = OrderView(record: record, recordFactID: try FactID("o"), tracking: [])
        #expect(view.estimatedDeliveryAt == nil && !view.isOverdue(now: .max))
        #expect(DelayNotice.due(for: view, now: .max) == nil)
    }

    @Test("The latest revised estimate by event time governs the order and its notice")
    func revisedEstimate() throws {
        let record = try orderRecord("ORD-9", customer: customer, placedAt: jan2024, estimate: estimate)
        let later = TrackingRecord(stage: .atCustoms, at: jan2024 + 5 * day, factID: try FactID("t2"), revisedEstimate: estimate + 20 * day)
        let earlier = TrackingRecord(stage: .shippedFromChina, at: jan2024 + day, factID: try FactID("t1"), revisedEstimate: estimate + 40 * day)
        let plain = TrackingRecord(stage: .arrivedInWarehouse, at: jan2024 + 9 * day, factID: try FactID("t3"))
        let view = OrderView(record: record, recordFactID: try FactID("o"), tracking: [later, plain, earlier])
        #expect(view.estimatedDeliveryAt == estimate + 20 * day)
        #expect(!view.isOverdue(now: estimate + day))
        let notice = try #require(DelayNotice.due(for: view, now: estimate + 21 * day))
        #expect(notice.id.estimatedDeliveryAt == estimate + 20 * day && notice.daysLate == 1)
    }

    @Test("The notice id is the same on every sweep, so a sent notice is never due again")
    func exactlyOnce() throws {
        let orders = [try view()]
        let first = DelayNotice.pending(for: orders, alreadySent: [], now: estimate + day)
        #expect(first.count == 1)
        let again = DelayNotice.pending(for: orders, alreadySent: Set(first.map(\.id)), now: estimate + 5 * day)
        #expect(again.isEmpty)
        // a revised estimate that is missed again is a new notice
        let revised = [try view(estimate: estimate + 10 * day)]
        #expect(DelayNotice.pending(for: revised, alreadySent: Set(first.map(\.id)), now: estimate + 11 * day).count == 1)
    }

    @Test("A profile knows which notices were sent and which are pending")
    func profilePending() throws {
        let facts = [
            try order("o", "ORD-9", customer: customer, placedAt: jan2024, estimate: estimate),
            try track("t", "ORD-9", .atCustoms, at: jan2024 + day),
        ]
        let before = try #require(ProfileProjection(facts: facts).profile(for: customer))
        let pending = before.pendingDelayNotices(now: estimate + day)
        #expect(pending.map(\.id.description) == ["delay/ORD-9/\(estimate)"])
        let sent = try fact("n", at: estimate + day, source: .agent, .delayNoticeSent(pending[0].id))
        let after = try #require(ProfileProjection(facts: facts + [sent]).profile(for: customer))
        #expect(after.sentDelayNotices == [pending[0].id])
        #expect(after.pendingDelayNotices(now: estimate + 2 * day).isEmpty)
    }
}
