/// What After-Sales found for one SKU when checking a complaint against the order system and the supplier platform.
public struct ClaimLine: Sendable, Hashable {
    /// The product code.
    public let sku: String
    /// The product name.
    public let name: String
    /// Units ordered (and paid for).
    public let orderedQuantity: Int64
    /// Units that arrived.
    public let receivedQuantity: Int64
    /// Of the units that arrived, how many are broken and kept or disposed of by the customer.
    /// Broken units sent back belong in the ``ReturnRecord`` instead, so nothing is refunded twice.
    public let brokenQuantity: Int64
    /// The unit price the customer paid.
    public let paidUnitPrice: Int64
    /// The unit price that should have been charged.
    public let correctUnitPrice: Int64

    /// Creates a line, refusing negative numbers, more received than ordered and more broken than received.
    public init(
        sku: String, name: String, orderedQuantity: Int64, receivedQuantity: Int64, brokenQuantity: Int64 = 0,
        paidUnitPrice: Int64, correctUnitPrice: Int64? = nil
    ) throws(CompensationError) {
        let code = Text.trimmed(sku)
        guard !code.isEmpty else { throw .emptySKU }
        for (field, value) in [("ordered", orderedQuantity), ("received", receivedQuantity), ("broken", brokenQuantity)] where value < 0 {
            throw .negativeQuantity(sku: code, field: field, value: value)
        }
        let correct = correctUnitPrice ?? paidUnitPrice
        for (field, value) in [("paid", paidUnitPrice), ("correct", correct)] where value < 0 {
            throw .negativePrice(sku: code, field: field, value: value)
        }
        // Over-delivery is not compensation: the extra units are a separate matter for the warehouse.
        guard receivedQuantity <= orderedQuantity else {
            throw .receivedExceedsOrdered(sku: code, ordered: orderedQuantity, received: receivedQuantity)
        }
        guard brokenQuantity <= receivedQuantity else {
            throw .brokenExceedsReceived(sku: code, received: receivedQuantity, broken: brokenQuantity)
        }
        self.sku = code
        self.name = Text.trimmed(name)
        self.orderedQuantity = orderedQuantity
        self.receivedQuantity = receivedQuantity
        self.brokenQuantity = brokenQuantity
        self.paidUnitPrice = paidUnitPrice
        self.correctUnitPrice = correct
    }
}

/// The outcome of the quality check of returned goods.
public enum QualityOutcome: String, Sendable, Hashable, CaseIterable {
    /// The goods are as the customer described (broken, not as ordered): their value is refunded.
    case accepted
    /// The goods are not as described (for example damaged by the customer): their value is not refunded.
    case refused
}

/// The record of the quality check of a return, kept with the order number as the business's Excel sheet did.
public struct QualityCheck: Sendable, Hashable {
    /// Accepted or refused.
    public let outcome: QualityOutcome
    /// Who inspected.
    public let inspectedBy: String
    /// When.
    public let inspectedAt: Int64
    /// What was found.
    public let notes: String

    /// Creates the record.
    public init(outcome: QualityOutcome, inspectedBy: String, inspectedAt: Int64, notes: String) {
        self.outcome = outcome
        self.inspectedBy = Text.trimmed(inspectedBy)
        self.inspectedAt = inspectedAt
        self.notes = Text.trimmed(notes)
    }
}

/// Units of one SKU sent back by the customer.
public struct ReturnedItem: Sendable, Hashable {
    /// The product code.
    public let sku: String
    /// Units returned (at least 1).
    public let quantity: Int64
    /// The unit price the customer paid.
    public let paidUnitPrice: Int64

    /// Creates the item, refusing a quantity below 1 or a negative price.
    public init(sku: String, quantity: Int64, paidUnitPrice: Int64) throws(CompensationError) {
        let code = Text.trimmed(sku)
        guard !code.isEmpty else { throw .emptySKU }
        guard quantity > 0 else { throw .nonPositiveReturnQuantity(sku: code, quantity: quantity) }
        guard paidUnitPrice >= 0 else { throw .negativePrice(sku: code, field: "paid", value: paidUnitPrice) }
        self.sku = code
        self.quantity = quantity
        self.paidUnitPrice = paidUnitPrice
    }
}

/// Goods a customer sent back: by order number, with their quality check and the local shipping the business covers.
public struct ReturnRecord: Sendable, Hashable {
    /// The order the goods came from.
    public let orderNumber: OrderNumber
    /// What came back.
    public let items: [ReturnedItem]
    /// The quality check.
    public let qualityCheck: QualityCheck
    /// The customer's local shipping cost for sending the goods back, refunded whatever the check finds.
    public let localShippingCost: Int64

    /// Creates the record, refusing no items, a SKU listed twice, or a negative shipping cost.
    public init(orderNumber: OrderNumber, items: [ReturnedItem], qualityCheck: QualityCheck, localShippingCost: Int64) throws(CompensationError) {
        guard !items.isEmpty else { throw .emptyReturn(orderNumber) }
        var seen: Set<String> = []
        for item in items where !seen.insert(item.sku).inserted { throw .duplicateSKU(item.sku) }
        guard localShippingCost >= 0 else { throw .negativeShippingCost(localShippingCost) }
        self.orderNumber = orderNumber
        self.items = items
        self.qualityCheck = qualityCheck
        self.localShippingCost = localShippingCost
    }
}

/// Why an amount is refunded.
public enum RefundReason: String, Sendable, Hashable, CaseIterable {
    /// Units ordered but not received.
    case missing
    /// Units received broken and kept.
    case broken
    /// Overpayment on the intact units kept.
    case priceDifference
    /// Units returned and accepted by the quality check.
    case returnedGoods
    /// The customer's local shipping for a return.
    case returnShipping
    /// An amount After-Sales adds by judgement, with its reason.
    case goodwill
}

/// An amount After-Sales adds to a refund by judgement (an apology, a late delivery), with the reason the customer
/// is told.
public struct GoodwillAdjustment: Sendable, Hashable {
    /// The amount in rupiah, above 0.
    public let amount: Int64
    /// Why it is given, trimmed; never empty.
    public let reason: String

    /// Creates an adjustment, refusing an amount below 1 or an empty reason.
    public init(amount: Int64, reason: String) throws(CompensationError) {
        let why = Text.trimmed(reason)
        guard amount > 0 else { throw .nonPositiveGoodwill(amount) }
        guard !why.isEmpty else { throw .goodwillWithoutReason(amount) }
        self.amount = amount
        self.reason = why
    }
}

/// One explained amount of a refund.
public struct RefundLine: Sendable, Hashable {
    /// The SKU, or `nil` for return shipping and goodwill.
    public let sku: String?
    /// Why.
    public let reason: RefundReason
    /// Units concerned (1 for shipping).
    public let quantity: Int64
    /// Amount per unit.
    public let unitAmount: Int64
    /// `quantity × unitAmount`.
    public let amount: Int64
    /// A sentence an agent can read to the customer.
    public let explanation: String
}

/// A computed refund: explained lines and their total, in whole rupiah.
public struct Refund: Sendable, Hashable {
    /// The lines, in claim order then return order then goodwill, omitting zero amounts except a refused return
    /// (kept so the customer hears why the goods were not refunded).
    public let lines: [RefundLine]
    /// The sum of the lines.
    public let total: Int64
    /// The return the refund covers, if any.
    public let returnRecord: ReturnRecord?

    /// A decision that refunds nothing (for example, a replacement was shipped).
    public static let nothing = Refund(lines: [], total: 0, returnRecord: nil)
}

/// The compensation rules of the business's After-Sales team.
///
/// For each claimed SKU:
/// - **missing** `(ordered − received) × paid` — the customer paid for goods that never came;
/// - **broken** `broken × paid`;
/// - **price difference** `(received − broken − returned) × (paid − correct)` when `paid > correct` — only the intact
///   units the customer keeps, because missing, broken and returned units are already refunded at the full paid
///   price; an undercharge (`paid < correct`) is never clawed back from the customer.
///
/// For a return: **returned goods** `quantity × paid` when the quality check accepts them, and **return shipping**
/// (the local cost) always, as the business's policy promises.
///
/// Then one **goodwill** line per adjustment After-Sales adds by judgement, with its reason.
public enum Compensation: Sendable {
    /// Computes the refund for `claims`, an optional return and goodwill adjustments.
    public static func compute(
        claims: [ClaimLine], returnRecord: ReturnRecord? = nil, goodwill: [GoodwillAdjustment] = []
    ) throws(CompensationError) -> Refund {
        var lines: [RefundLine] = []
        var seen: Set<String> = []
        var returned: [String: Int64] = [:]
        let qcAccepted = returnRecord?.qualityCheck.outcome == .accepted
        for item in returnRecord?.items ?? [] { returned[item.sku] = item.quantity }

        for claim in claims {
            guard seen.insert(claim.sku).inserted else { throw .duplicateSKU(claim.sku) }
            let sentBack = returned[claim.sku] ?? 0
            let intactKept = claim.receivedQuantity - claim.brokenQuantity - sentBack
            guard intactKept >= 0 else {
                throw .returnedExceedsIntact(sku: claim.sku, received: claim.receivedQuantity, broken: claim.brokenQuantity, returned: sentBack)
            }
            let label = claim.name.isEmpty ? claim.sku : "\(claim.sku) \(claim.name)"
            let missing = claim.orderedQuantity - claim.receivedQuantity
            if missing > 0 && claim.paidUnitPrice > 0 {
                lines.append(try line(claim.sku, .missing, missing, claim.paidUnitPrice) { amount in
                    "\(label): \(missing) missing (ordered \(claim.orderedQuantity), received \(claim.receivedQuantity)) × \(Rupiah.format(claim.paidUnitPrice)) = \(Rupiah.format(amount))"
                })
            }
            if claim.brokenQuantity > 0 && claim.paidUnitPrice > 0 {
                lines.append(try line(claim.sku, .broken, claim.brokenQuantity, claim.paidUnitPrice) { amount in
                    "\(label): \(claim.brokenQuantity) broken × \(Rupiah.format(claim.paidUnitPrice)) = \(Rupiah.format(amount))"
                })
            }
            let overpaid = claim.paidUnitPrice - claim.correctUnitPrice
            if overpaid > 0 && intactKept > 0 {
                lines.append(try line(claim.sku, .priceDifference, intactKept, overpaid) { amount in
                    "\(label): paid \(Rupiah.format(claim.paidUnitPrice)) instead of \(Rupiah.format(claim.correctUnitPrice)) on \(intactKept) intact units kept: \(intactKept) × \(Rupiah.format(overpaid)) = \(Rupiah.format(amount))"
                })
            }
        }

        if let record = returnRecord {
            for item in record.items {
                if qcAccepted {
                    lines.append(try line(item.sku, .returnedGoods, item.quantity, item.paidUnitPrice) { amount in
                        "\(item.sku): \(item.quantity) returned, quality check accepted × \(Rupiah.format(item.paidUnitPrice)) = \(Rupiah.format(amount))"
                    })
                } else {
                    let why = record.qualityCheck.notes.isEmpty ? "" : " (\(record.qualityCheck.notes))"
                    lines.append(RefundLine(
                        sku: item.sku, reason: .returnedGoods, quantity: item.quantity, unitAmount: 0, amount: 0,
                        explanation: "\(item.sku): \(item.quantity) returned, quality check refused\(why): goods value not refunded"))
                }
            }
            if record.localShippingCost > 0 { lines.append(returnShippingLine(record.localShippingCost)) }
        }

        for adjustment in goodwill {
            lines.append(RefundLine(
                sku: nil, reason: .goodwill, quantity: 1, unitAmount: adjustment.amount, amount: adjustment.amount,
                explanation: "Goodwill: \(adjustment.reason): \(Rupiah.format(adjustment.amount))"))
        }

        var total: Int64 = 0
        for l in lines {
            guard let sum = Rupiah.add(total, l.amount) else { throw .amountOverflow(sku: nil) }
            total = sum
        }
        return Refund(lines: lines, total: total, returnRecord: returnRecord)
    }

    /// A what-if: the refund `claims` would give, with `returnShipping` paid as a return's local shipping is (0: none).
    ///
    /// A what-if has no return record, so no returned goods are paid; the shipping line is the one a decided return
    /// pays, whatever its check finds.
    public static func quote(claims: [ClaimLine], returnShipping: Int64) throws(CompensationError) -> Refund {
        guard returnShipping >= 0 else { throw .negativeShippingCost(returnShipping) }
        let refund = try compute(claims: claims)
        guard returnShipping > 0 else { return refund }
        guard let total = Rupiah.add(refund.total, returnShipping) else { throw .amountOverflow(sku: nil) }
        return Refund(lines: refund.lines + [returnShippingLine(returnShipping)], total: total, returnRecord: nil)
    }

    private static func returnShippingLine(_ cost: Int64) -> RefundLine {
        RefundLine(
            sku: nil, reason: .returnShipping, quantity: 1, unitAmount: cost, amount: cost,
            explanation: "Local shipping of the return covered: \(Rupiah.format(cost))")
    }

    private static func line(
        _ sku: String, _ reason: RefundReason, _ quantity: Int64, _ unit: Int64, explain: (Int64) -> String
    ) throws(CompensationError) -> RefundLine {
        guard let amount = Rupiah.multiply(quantity, unit) else { throw .amountOverflow(sku: sku) }
        return RefundLine(sku: sku, reason: reason, quantity: quantity, unitAmount: unit, amount: amount, explanation: explain(amount))
    }
}

/// Why a compensation could not be computed.
public enum CompensationError: DomainError {
    /// A line or returned item has no SKU.
    case emptySKU
    /// A quantity is negative.
    case negativeQuantity(sku: String, field: String, value: Int64)
    /// A price is negative.
    case negativePrice(sku: String, field: String, value: Int64)
    /// More units received than ordered.
    case receivedExceedsOrdered(sku: String, ordered: Int64, received: Int64)
    /// More units broken than received.
    case brokenExceedsReceived(sku: String, received: Int64, broken: Int64)
    /// More units returned than arrived intact (broken kept units are refunded as broken already).
    case returnedExceedsIntact(sku: String, received: Int64, broken: Int64, returned: Int64)
    /// A returned item's quantity is below 1.
    case nonPositiveReturnQuantity(sku: String, quantity: Int64)
    /// A return with no items.
    case emptyReturn(OrderNumber)
    /// The same SKU appears twice in the claims or in the return.
    case duplicateSKU(String)
    /// The return shipping cost is negative.
    case negativeShippingCost(Int64)
    /// An amount does not fit in 64 bits.
    case amountOverflow(sku: String?)
    /// A goodwill adjustment of 0 or less.
    case nonPositiveGoodwill(Int64)
    /// An inspected item accepts more units than came back, or fewer than none.
    case acceptedOutOfRange(sku: String, returned: Int64, accepted: Int64)
    /// A goodwill adjustment with no reason.
    case goodwillWithoutReason(Int64)
    /// A returned SKU the order does not list, so no price paid is known.
    case skuNotOnOrder(sku: String, order: OrderNumber)

    /// See ``DomainError/code``.
    public var code: String {
        switch self {
        case .emptySKU: "compensation.empty_sku"
        case .negativeQuantity: "compensation.negative_quantity"
        case .negativePrice: "compensation.negative_price"
        case .receivedExceedsOrdered: "compensation.received_exceeds_ordered"
        case .brokenExceedsReceived: "compensation.broken_exceeds_received"
        case .returnedExceedsIntact: "compensation.returned_exceeds_intact"
        case .nonPositiveReturnQuantity: "compensation.non_positive_return_quantity"
        case .emptyReturn: "compensation.empty_return"
        case .duplicateSKU: "compensation.duplicate_sku"
        case .negativeShippingCost: "compensation.negative_shipping_cost"
        case .amountOverflow: "compensation.amount_overflow"
        case .nonPositiveGoodwill: "compensation.non_positive_goodwill"
        case .acceptedOutOfRange: "compensation.accepted_out_of_range"
        case .goodwillWithoutReason: "compensation.goodwill_without_reason"
        case .skuNotOnOrder: "compensation.sku_not_on_order"
        }
    }

    /// A sentence saying what went wrong and how to fix it.
    public var description: String {
        switch self {
        case .emptySKU:
            return "A compensation line has no SKU; name the product code of every line."
        case let .negativeQuantity(sku, field, value):
            return "\(sku): the \(field) quantity is \(value); quantities are 0 or more."
        case let .negativePrice(sku, field, value):
            return "\(sku): the \(field) unit price is \(value); prices are 0 or more."
        case let .receivedExceedsOrdered(sku, ordered, received):
            return "\(sku): \(received) received but only \(ordered) ordered; extra units are not compensation, record at most the ordered quantity."
        case let .brokenExceedsReceived(sku, received, broken):
            return "\(sku): \(broken) broken but only \(received) received; broken units must be among those received."
        case let .returnedExceedsIntact(sku, received, broken, returned):
            return "\(sku): \(returned) returned but only \(received - broken) of \(received) received are not already counted as broken; count a broken unit either as broken (kept) or as returned, not both."
        case let .nonPositiveReturnQuantity(sku, quantity):
            return "\(sku): a return of \(quantity) units; return at least 1 unit or leave the SKU out."
        case let .emptyReturn(order):
            return "The return for order \(order) lists no goods; list what came back."
        case let .duplicateSKU(sku):
            return "SKU \(sku) is listed twice; give one line per SKU."
        case let .negativeShippingCost(cost):
            return "The return shipping cost is negative (\(cost)); give the cost paid, 0 or more."
        case let .amountOverflow(sku):
            return "An amount\(sku.map { " for \($0)" } ?? "") is too large to represent; check quantities and prices."
        case let .nonPositiveGoodwill(amount):
            return "A goodwill adjustment of \(amount) rupiah; give an amount above 0 or leave the adjustment out."
        case let .acceptedOutOfRange(sku, returned, accepted):
            return "\(sku): \(accepted) units accepted of \(returned) returned; accept between 0 and the units that came back."
        case let .goodwillWithoutReason(amount):
            return "A goodwill adjustment of \(Rupiah.format(amount)) has no reason; say why it is given."
        case let .skuNotOnOrder(sku, order):
            return "SKU \(sku) came back but is not on order \(order); check the SKU against the order's lines."
        }
    }
}
