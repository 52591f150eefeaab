// Public initialisers for a refund and its lines, so that a store can rebuild a stored complaint decision from what
// it persisted without re-running the compensation that first produced it.

extension RefundLine {
    /// Restores a line that ``Compensation/compute(claims:returnRecord:)`` made (for example, read back from storage).
    ///
    /// The amount is recomputed as `quantity × unitAmount`, so a restored line is always consistent; negative numbers
    /// and an amount too large to hold are refused.
    public init(sku: String?, reason: RefundReason, quantity: Int64, unitAmount: Int64, explanation: String) throws(CompensationError) {
        let label = sku ?? reason.rawValue
        guard quantity >= 0 else { throw .negativeQuantity(sku: label, field: "refunded", value: quantity) }
        guard unitAmount >= 0 else { throw .negativePrice(sku: label, field: "refund unit", value: unitAmount) }
        guard let amount = Rupiah.multiply(quantity, unitAmount) else { throw .amountOverflow(sku: sku) }
        self.init(sku: sku, reason: reason, quantity: quantity, unitAmount: unitAmount, amount: amount, explanation: explanation)
    }
}

extension Refund {
    /// Restores a refund from its lines and return record (for example, read back from storage); the total is
    /// recomputed as the sum of the lines.
    public init(lines: [RefundLine], returnRecord: ReturnRecord?) throws(CompensationError) {
        var total: Int64 = 0
        for line in lines {
            guard let sum = Rupiah.add(total, line.amount) else { throw .amountOverflow(sku: line.sku) }
            total = sum
        }
        self.init(lines: lines, total: total, returnRecord: returnRecord)
    }
}
