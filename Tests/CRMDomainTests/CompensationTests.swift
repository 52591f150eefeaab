import Testing
@testable import CRMDomain

@Suite("Compensation: refunds from quantities and prices")
struct CompensationTests {
    let order: OrderNumber
    init() throws { order = try orderNo("ORD-7") }

    func qc(_ outcome: QualityOutcome, notes: String = "") -> QualityCheck {
        QualityCheck(outcome: outcome, inspectedBy: "rina", inspectedAt: jan2024, notes: notes)
    }

    @Test("Missing, broken and overpaid units are refunded, each line explained")
    func missingBrokenPrice() throws {
        let line = try ClaimLine(sku: "MUG-01", name: "Mug", orderedQuantity: 100, receivedQuantity: 90, brokenQuantity: 5,
                                 paidUnitPrice: 25_000, correctUnitPrice: 22_000)
        let refund = try Compensation.compute(claims: [line])
        #expect(refund.lines.map(\.reason) == [.missing, .broken, .priceDifference])
        #expect(refund.lines.map(\.amount) == [250_000, 125_000, 255_000])
        #expect(refund.total == 630_000)
        #expect(refund.lines.map(\.explanation) == [
            "MUG-01 Mug: 10 missing (ordered 100, received 90) × Rp 25.000 = Rp 250.000",
            "MUG-01 Mug: 5 broken × Rp 25.000 = Rp 125.000",
            "MUG-01 Mug: paid Rp 25.000 instead of Rp 22.000 on 85 intact units kept: 85 × Rp 3.000 = Rp 255.000",
        ])
    }

    @Test("An undercharge is never clawed back, and a complete, correct delivery refunds nothing")
    func noNegativeRefunds() throws {
        let under = try ClaimLine(sku: "A", name: "", orderedQuantity: 10, receivedQuantity: 10, paidUnitPrice: 900, correctUnitPrice: 1_000)
        #expect(try Compensation.compute(claims: [under]) == Refund(lines: [], total: 0, returnRecord: nil))
        #expect(Refund.nothing.total == 0)
    }

    @Test("A return accepted by the quality check refunds the goods and the local shipping")
    func acceptedReturn() throws {
        let record = try ReturnRecord(orderNumber: order, items: [ReturnedItem(sku: "LAMP", quantity: 4, paidUnitPrice: 100_000)],
                                      qualityCheck: qc(.accepted), localShippingCost: 35_000)
        let refund = try Compensation.compute(claims: [], returnRecord: record)
        #expect(refund.lines.map(\.amount) == [400_000, 35_000])
        #expect(refund.total == 435_000)
        #expect(refund.returnRecord == record)
        #expect(refund.lines.last?.explanation == "Local shipping of the return covered: Rp 35.000")
    }

    @Test("A return refused by the quality check still covers local shipping, and says why the goods are not refunded")
    func refusedReturn() throws {
        let record = try ReturnRecord(orderNumber: order, items: [ReturnedItem(sku: "LAMP", quantity: 4, paidUnitPrice: 100_000)],
                                      qualityCheck: qc(.refused, notes: "segel dibuka"), localShippingCost: 35_000)
        let refund = try Compensation.compute(claims: [], returnRecord: record)
        #expect(refund.total == 35_000)
        #expect(refund.lines.first?.explanation == "LAMP: 4 returned, quality check refused (segel dibuka): goods value not refunded")
    }

    @Test("Returned units are not also refunded as a price difference")
    func returnedUnitsExcludedFromPriceDifference() throws {
        let line = try ClaimLine(sku: "A", name: "", orderedQuantity: 10, receivedQuantity: 10, paidUnitPrice: 1_000, correctUnitPrice: 800)
        let record = try ReturnRecord(orderNumber: order, items: [ReturnedItem(sku: "A", quantity: 4, paidUnitPrice: 1_000)],
                                      qualityCheck: qc(.accepted), localShippingCost: 0)
        let refund = try Compensation.compute(claims: [line], returnRecord: record)
        #expect(refund.lines.map(\.reason) == [.priceDifference, .returnedGoods])
        #expect(refund.lines.map(\.amount) == [6 * 200, 4_000])
        #expect(refund.total == 5_200)
    }

    @Test("Goodwill adjustments come after the computed lines, explained, and count in the total")
    func goodwill() throws {
        let claim = try ClaimLine(sku: "MUG-01", name: "Mug", orderedQuantity: 10, receivedQuantity: 10, brokenQuantity: 2, paidUnitPrice: 45_000)
        let refund = try Compensation.compute(claims: [claim], goodwill: [GoodwillAdjustment(amount: 25_000, reason: " apology for the delay ")])
        #expect(refund.lines.map(\.reason) == [.broken, .goodwill])
        #expect(refund.total == 115_000)
        let line = try #require(refund.lines.last)
        #expect(line.sku == nil && line.quantity == 1 && line.unitAmount == 25_000 && line.amount == 25_000)
        #expect(line.explanation == "Goodwill: apology for the delay: \(Rupiah.format(25_000))")
        #expect(throws: CompensationError.nonPositiveGoodwill(0)) { try GoodwillAdjustment(amount: 0, reason: "x") }
        #expect(throws: CompensationError.goodwillWithoutReason(1_000)) { try GoodwillAdjustment(amount: 1_000, reason: "  ") }
    }

    @Test("Claim line refusals carry the exact reason")
    func claimRefusals() {
        #expect(throws: CompensationError.emptySKU) { try ClaimLine(sku: "", name: "", orderedQuantity: 1, receivedQuantity: 1, paidUnitPrice: 1) }
        #expect(throws: CompensationError.negativeQuantity(sku: "A", field: "received", value: -1)) {
            try ClaimLine(sku: "A", name: "", orderedQuantity: 1, receivedQuantity: -1, paidUnitPrice: 1)
        }
        #expect(throws: CompensationError.negativePrice(sku: "A", field: "correct", value: -2)) {
            try ClaimLine(sku: "A", name: "", orderedQuantity: 1, receivedQuantity: 1, paidUnitPrice: 1, correctUnitPrice: -2)
        }
        #expect(throws: CompensationError.receivedExceedsOrdered(sku: "A", ordered: 5, received: 6)) {
            try ClaimLine(sku: "A", name: "", orderedQuantity: 5, receivedQuantity: 6, paidUnitPrice: 1)
        }
        #expect(throws: CompensationError.brokenExceedsReceived(sku: "A", received: 3, broken: 4)) {
            try ClaimLine(sku: "A", name: "", orderedQuantity: 5, receivedQuantity: 3, brokenQuantity: 4, paidUnitPrice: 1)
        }
    }

    @Test("Return and computation refusals carry the exact reason")
    func returnRefusals() throws {
        let accepted = qc(.accepted)
        let item = try ReturnedItem(sku: "A", quantity: 3, paidUnitPrice: 10)
        #expect(throws: CompensationError.nonPositiveReturnQuantity(sku: "A", quantity: 0)) { try ReturnedItem(sku: "A", quantity: 0, paidUnitPrice: 1) }
        #expect(throws: CompensationError.negativePrice(sku: "A", field: "paid", value: -1)) { try ReturnedItem(sku: "A", quantity: 1, paidUnitPrice: -1) }
        #expect(throws: CompensationError.emptySKU) { try ReturnedItem(sku: " ", quantity: 1, paidUnitPrice: 1) }
        #expect(throws: CompensationError.emptyReturn(order)) { try ReturnRecord(orderNumber: order, items: [], qualityCheck: accepted, localShippingCost: 0) }
        #expect(throws: CompensationError.duplicateSKU("A")) { try ReturnRecord(orderNumber: order, items: [item, item], qualityCheck: accepted, localShippingCost: 0) }
        #expect(throws: CompensationError.negativeShippingCost(-5)) { try ReturnRecord(orderNumber: order, items: [item], qualityCheck: accepted, localShippingCost: -5) }

        let line = try ClaimLine(sku: "A", name: "", orderedQuantity: 5, receivedQuantity: 4, brokenQuantity: 2, paidUnitPrice: 10)
        #expect(throws: CompensationError.duplicateSKU("A")) { try Compensation.compute(claims: [line, line]) }
        let record = try ReturnRecord(orderNumber: order, items: [item], qualityCheck: accepted, localShippingCost: 0)
        let expected = CompensationError.returnedExceedsIntact(sku: "A", received: 4, broken: 2, returned: 3)
        #expect(throws: expected) { try Compensation.compute(claims: [line], returnRecord: record) }
        #expect(expected.description == "A: 3 returned but only 2 of 4 received are not already counted as broken; count a broken unit either as broken (kept) or as returned, not both.")
        let huge = try ClaimLine(sku: "B", name: "", orderedQuantity: 3, receivedQuantity: 0, paidUnitPrice: .max / 2)
        #expect(throws: CompensationError.amountOverflow(sku: "B")) { try Compensation.compute(claims: [huge]) }
        let big = try ClaimLine(sku: "C", name: "", orderedQuantity: 1, receivedQuantity: 0, paidUnitPrice: .max)
        let big2 = try ClaimLine(sku: "D", name: "", orderedQuantity: 1, receivedQuantity: 0, paidUnitPrice: 1)
        #expect(throws: CompensationError.amountOverflow(sku: nil)) { try Compensation.compute(claims: [big, big2]) }
    }
}
