import Testing
@testable import CRMDomain

@Suite("Deciding a complaint")
struct DecisionRequestTests {
    let customer: Handle
    let order: OrderRecord

    init() throws {
        customer = try phone("0812-3456-7890")
        order = try orderRecord("ORD-1", customer: customer, items: [("SKU-1", 3, 100_000), ("SKU-2", 1, 40_000)], placedAt: jan2024)
    }

    func complaint(_ category: ComplaintCategory, items: [ClaimLine] = []) throws -> Complaint {
        let opening = try ComplaintOpening(
            id: complaintNo("K-1"), customer: customer, orderNumber: orderNo("ORD-1"), category: category, summary: "Barang rusak",
            openedBy: actor(.sales, "sari"), items: items)
        return Complaint(opening: opening, openedAt: jan2024 + day)
    }

    func inspection(_ verdict: InspectionVerdict, _ items: [(String, Int64, Int64)], shipping: Int64 = 15_000) throws -> ReturnInspection {
        try ReturnInspection(
            complaintID: complaintNo("K-1"), orderNumber: orderNo("ORD-1"), verdict: verdict,
            items: items.map { try InspectedItem(sku: $0.0, returned: $0.1, accepted: $0.2) }, localShippingCost: shipping,
            receivedAt: nil, inspectedBy: "wati", notes: "")
    }

    @Test("A refund pays the items the complaint was opened with when none are confirmed, then goodwill")
    func refundOfOpeningItems() throws {
        let broken = try ClaimLine(sku: "SKU-1", name: "Vas", orderedQuantity: 3, receivedQuantity: 3, brokenQuantity: 1, paidUnitPrice: 100_000)
        let c = try complaint(.broken, items: [broken])
        let goodwill = try GoodwillAdjustment(amount: 10_000, reason: "late")
        let decision = try c.decision(for: DecisionRequest(resolution: .refund, goodwill: [goodwill], rationale: " ok "), inspection: nil, order: nil)
        #expect(decision.refund.total == 110_000)
        #expect(decision.refund.lines.map(\.reason) == [.broken, .goodwill])
        #expect(decision.note == "ok")
    }

    @Test("No compensation pays nothing, takes no goodwill, and is refused for a RETURN")
    func noCompensation() throws {
        let nothing = try complaint(.outOfStock).decision(for: DecisionRequest(resolution: .noCompensation, rationale: "replaced"), inspection: nil, order: nil)
        #expect(nothing.refund == .nothing)
        let goodwill = try GoodwillAdjustment(amount: 1, reason: "sorry")
        let outOfStock = try complaint(.outOfStock), customerReturn = try complaint(.customerReturn)
        #expect(thrown { () throws(DecisionError) in try outOfStock.decision(for: DecisionRequest(resolution: .noCompensation, goodwill: [goodwill], rationale: ""), inspection: nil, order: nil) } == .goodwillNeedsRefund)
        #expect(thrown { () throws(DecisionError) in try customerReturn.decision(for: DecisionRequest(resolution: .noCompensation, rationale: ""), inspection: nil, order: nil) } == .returnNeedsRefund)
    }

    @Test("A refund of nothing at all, or return shipping outside a RETURN, is refused")
    func refusedRefunds() throws {
        let broken = try complaint(.broken)
        #expect(thrown { () throws(DecisionError) in try broken.decision(for: DecisionRequest(resolution: .refund, rationale: ""), inspection: nil, order: nil) } == .nothingToRefund)
        #expect(thrown { () throws(DecisionError) in try broken.decision(for: DecisionRequest(resolution: .refund, returnShipping: 5_000, rationale: ""), inspection: nil, order: nil) } == .returnShippingOnlyForReturns)
    }

    @Test("A RETURN needs its quality check and its order before it is decided")
    func returnNeedsCheckAndOrder() throws {
        let c = try complaint(.customerReturn)
        #expect(thrown { () throws(DecisionError) in try c.decision(for: DecisionRequest(resolution: .refund, rationale: ""), inspection: nil, order: order) } == .qualityCheckMissing(c.id))
        let check = try inspection(.passed, [("SKU-1", 1, 1)])
        #expect(thrown { () throws(DecisionError) in try c.decision(for: DecisionRequest(resolution: .refund, rationale: ""), inspection: (check, jan2024 + 2 * day), order: nil) } == .orderUnknown(c.orderNumber))
    }

    @Test("A PARTIAL check pays the accepted units at the price paid on the order, and the local shipping; an override replaces the recorded cost")
    func partialReturn() throws {
        let c = try complaint(.customerReturn)
        let check = try inspection(.partial, [("SKU-1", 2, 1), ("SKU-2", 1, 0)])
        let decision = try c.decision(for: DecisionRequest(resolution: .refund, rationale: ""), inspection: (check, jan2024 + 2 * day), order: order)
        #expect(decision.refund.returnRecord?.items.map(\.sku) == ["SKU-1"])
        #expect(decision.refund.returnRecord?.qualityCheck.outcome == .accepted)
        #expect(decision.refund.returnRecord?.qualityCheck.inspectedAt == jan2024 + 2 * day)
        #expect(decision.refund.total == 100_000 + 15_000)
        let overridden = try c.decision(for: DecisionRequest(resolution: .refund, returnShipping: 20_000, rationale: ""), inspection: (check, jan2024 + 2 * day), order: order)
        #expect(overridden.refund.total == 100_000 + 20_000)
    }

    @Test("A FAILED check refuses every unit that came back but still pays the local shipping")
    func failedReturn() throws {
        let c = try complaint(.customerReturn)
        let decision = try c.decision(for: DecisionRequest(resolution: .refund, rationale: ""), inspection: (try inspection(.failed, [("SKU-1", 2, 0)]), jan2024), order: order)
        #expect(decision.refund.returnRecord?.qualityCheck.outcome == .refused)
        #expect(decision.refund.returnRecord?.items.map(\.quantity) == [2])
        #expect(decision.refund.total == 15_000)
    }

    @Test("A returned SKU the order does not list cannot be paid")
    func skuNotOnOrder() throws {
        let check = try inspection(.passed, [("SKU-9", 1, 1)])
        #expect(thrown { () throws(CompensationError) in try check.returnRecord(order: order, inspectedAt: jan2024) } == .skuNotOnOrder(sku: "SKU-9", order: order.orderNumber))
        let c = try complaint(.customerReturn)
        #expect(thrown { () throws(DecisionError) in try c.decision(for: DecisionRequest(resolution: .refund, rationale: ""), inspection: (check, jan2024), order: order) }
            == .returnNotPayable(.skuNotOnOrder(sku: "SKU-9", order: order.orderNumber)))
    }

    @Test("A what-if pays return shipping as a decided return does, and no returned goods")
    func whatIfQuote() throws {
        let missing = try ClaimLine(sku: "SKU-1", name: "", orderedQuantity: 3, receivedQuantity: 2, paidUnitPrice: 100_000)
        let quote = try Compensation.quote(claims: [missing], returnShipping: 15_000)
        #expect(quote.total == 115_000)
        #expect(quote.lines.map(\.reason) == [.missing, .returnShipping])
        #expect(quote.lines.last?.explanation == "Local shipping of the return covered: Rp 15.000")
        #expect(try Compensation.quote(claims: [missing], returnShipping: 0) == Compensation.compute(claims: [missing]))
        #expect(thrown { () throws(CompensationError) in try Compensation.quote(claims: [missing], returnShipping: -1) } == .negativeShippingCost(-1))
    }
}
