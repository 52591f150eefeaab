/// What After-Sales states when it decides a complaint; ``Complaint/decision(for:inspection:order:)`` turns it into
/// the ``ComplaintDecision`` the workflow records.
public struct DecisionRequest: Sendable, Hashable {
    /// Whether the customer is compensated.
    public enum Resolution: Sendable, Hashable {
        /// A refund, computed from the verified items, the return and goodwill.
        case refund
        /// Nothing is paid (for example, a replacement was shipped).
        case noCompensation
    }

    /// Refund or nothing.
    public let resolution: Resolution
    /// The items After-Sales verified; empty means those the complaint was opened with.
    public let confirmedItems: [ClaimLine]
    /// Amounts added by judgement, each with its reason; only with a refund.
    public let goodwill: [GoodwillAdjustment]
    /// For a return: the local shipping to pay instead of the cost the warehouse recorded; 0 keeps that cost.
    public let returnShipping: Int64
    /// Why, for Sales and the customer.
    public let rationale: String

    /// Creates the request.
    public init(resolution: Resolution, confirmedItems: [ClaimLine] = [], goodwill: [GoodwillAdjustment] = [], returnShipping: Int64 = 0, rationale: String) {
        self.resolution = resolution
        self.confirmedItems = confirmedItems
        self.goodwill = goodwill
        self.returnShipping = returnShipping
        self.rationale = rationale
    }
}

extension ComplaintCategory {
    /// Whether a decision pays through a return record (a RETURN), so needs the return's quality check and its
    /// order, and may pay the return's local shipping.
    public var paysThroughReturn: Bool { self == .customerReturn }
}

extension Complaint {
    /// Whether a decision pays through a return record; see ``ComplaintCategory/paysThroughReturn``.
    public var paysThroughReturn: Bool { category.paysThroughReturn }

    /// The decision `request` makes of this complaint.
    ///
    /// - A refund pays the verified items (those the complaint was opened with when none are confirmed), then, for a
    ///   RETURN, the return record built from the newest quality check (`inspection`, with its check time) and the
    ///   `order` the goods came from, then the goodwill lines; it must pay something.
    /// - No compensation records a refund of nothing, with no goodwill; a RETURN cannot be decided so, because its
    ///   quality check decides what is paid and its local shipping is always refunded.
    /// - Return shipping (an override of the recorded cost) is paid only on RETURN complaints.
    public func decision(
        for request: DecisionRequest, inspection: (check: ReturnInspection, at: Int64)?, order: OrderRecord?
    ) throws(DecisionError) -> ComplaintDecision {
        guard request.returnShipping >= 0 else { throw .compensation(.negativeShippingCost(request.returnShipping)) }
        if request.resolution == .noCompensation && !request.goodwill.isEmpty { throw .goodwillNeedsRefund }
        if request.resolution == .noCompensation {
            if paysThroughReturn { throw .returnNeedsRefund }
            return ComplaintDecision(refund: .nothing, note: request.rationale)
        }
        var returnRecord: ReturnRecord?
        if paysThroughReturn {
            guard let inspection else { throw .qualityCheckMissing(id) }
            guard let order else { throw .orderUnknown(orderNumber) }
            do {
                let check = request.returnShipping > 0 ? try inspection.check.replacingLocalShipping(request.returnShipping) : inspection.check
                returnRecord = try check.returnRecord(order: order, inspectedAt: inspection.at)
            } catch {
                throw .returnNotPayable(error)
            }
        } else if request.returnShipping > 0 {
            throw .returnShippingOnlyForReturns
        }
        let verified = request.confirmedItems.isEmpty ? items : request.confirmedItems
        if verified.isEmpty && returnRecord == nil && request.goodwill.isEmpty { throw .nothingToRefund }
        do {
            return ComplaintDecision(
                refund: try Compensation.compute(claims: verified, returnRecord: returnRecord, goodwill: request.goodwill), note: request.rationale)
        } catch {
            throw .compensation(error)
        }
    }
}

/// Why a decision cannot be made as requested.
public enum DecisionError: DomainError {
    /// Goodwill lines with no compensation: goodwill is paid as a refund.
    case goodwillNeedsRefund
    /// A RETURN complaint decided with no compensation.
    case returnNeedsRefund
    /// Return shipping on a complaint that is not a RETURN.
    case returnShippingOnlyForReturns
    /// A RETURN complaint with no quality check recorded yet.
    case qualityCheckMissing(ComplaintID)
    /// The order of a RETURN complaint is not known, so no price paid is.
    case orderUnknown(OrderNumber)
    /// The return's check does not make a payable return record (a SKU not on the order, say).
    case returnNotPayable(CompensationError)
    /// A refund with no verified items, no return and no goodwill.
    case nothingToRefund
    /// The refund cannot be computed from the verified items.
    case compensation(CompensationError)

    /// See ``DomainError/code``.
    public var code: String {
        switch self {
        case .goodwillNeedsRefund: "decision.goodwill_needs_refund"
        case .returnNeedsRefund: "decision.return_needs_refund"
        case .returnShippingOnlyForReturns: "decision.return_shipping_only_for_returns"
        case .qualityCheckMissing: "decision.quality_check_missing"
        case .orderUnknown: "decision.order_unknown"
        case .returnNotPayable(let error): error.code
        case .nothingToRefund: "decision.nothing_to_refund"
        case .compensation(let error): error.code
        }
    }

    /// See ``DomainError/description``.
    public var description: String {
        switch self {
        case .goodwillNeedsRefund:
            "goodwill is paid as a refund: decide REFUND to add goodwill lines"
        case .returnNeedsRefund:
            "a RETURN complaint is decided with its return record: decide REFUND (the quality check decides what is paid)"
        case .returnShippingOnlyForReturns:
            "return shipping is paid only on RETURN complaints"
        case .qualityCheckMissing(let id):
            "complaint \(id) is a RETURN: record the return's quality check (RecordReturnQualityCheck) before deciding it"
        case .orderUnknown(let number):
            "order \(number) of the complaint is not known"
        case .returnNotPayable(let error):
            error.description
        case .nothingToRefund:
            "is empty and the complaint was opened without items: a REFUND needs the verified items (ordered, received, broken, prices)"
        case .compensation(let error):
            error.description
        }
    }
}
