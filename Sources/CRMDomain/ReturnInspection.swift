/// The warehouse's verdict on goods sent back.
public enum InspectionVerdict: String, Sendable, Hashable, CaseIterable {
    /// Every unit is as the customer described.
    case passed
    /// Some units are, some are not.
    case partial
    /// No unit is as described.
    case failed
}

/// What the warehouse found for one SKU of a return.
public struct InspectedItem: Sendable, Hashable {
    /// The product code.
    public let sku: String
    /// Units that came back (at least 1).
    public let returned: Int64
    /// Of those, units found as the customer described (0 to ``returned``).
    public let accepted: Int64
    /// What was found, trimmed; may be empty.
    public let finding: String

    /// Creates the item, refusing an empty SKU, fewer than 1 unit returned or an accepted count outside 0…returned.
    public init(sku: String, returned: Int64, accepted: Int64, finding: String = "") throws(CompensationError) {
        let code = Text.trimmed(sku)
        guard !code.isEmpty else { throw .emptySKU }
        guard returned > 0 else { throw .nonPositiveReturnQuantity(sku: code, quantity: returned) }
        guard (0...returned).contains(accepted) else { throw .acceptedOutOfRange(sku: code, returned: returned, accepted: accepted) }
        self.sku = code
        self.returned = returned
        self.accepted = accepted
        self.finding = Text.trimmed(finding)
    }
}

/// The content of a ``FactPayload/returnInspection(_:)`` fact: the warehouse's quality check of a return, recorded
/// before After-Sales decides the complaint; the check time is the fact's time. A later check of the same complaint
/// supersedes an earlier one.
public struct ReturnInspection: Sendable, Hashable {
    /// The complaint the return belongs to.
    public let complaintID: ComplaintID
    /// The order the goods came from.
    public let orderNumber: OrderNumber
    /// The overall verdict.
    public let verdict: InspectionVerdict
    /// What came back, one line per SKU.
    public let items: [InspectedItem]
    /// The customer's local shipping cost for sending the goods back.
    public let localShippingCost: Int64
    /// When the goods arrived at the warehouse, if known.
    public let receivedAt: Int64?
    /// Who inspected, trimmed.
    public let inspectedBy: String
    /// What was found overall, trimmed; may be empty.
    public let notes: String

    /// Creates the check, refusing no items, a SKU listed twice or a negative shipping cost.
    public init(
        complaintID: ComplaintID, orderNumber: OrderNumber, verdict: InspectionVerdict, items: [InspectedItem], localShippingCost: Int64,
        receivedAt: Int64?, inspectedBy: String, notes: String
    ) throws(CompensationError) {
        guard !items.isEmpty else { throw .emptyReturn(orderNumber) }
        var seen: Set<String> = []
        for item in items where !seen.insert(item.sku).inserted { throw .duplicateSKU(item.sku) }
        guard localShippingCost >= 0 else { throw .negativeShippingCost(localShippingCost) }
        self.complaintID = complaintID
        self.orderNumber = orderNumber
        self.verdict = verdict
        self.items = items
        self.localShippingCost = localShippingCost
        self.receivedAt = receivedAt
        self.inspectedBy = Text.trimmed(inspectedBy)
        self.notes = Text.trimmed(notes)
    }
}

extension ReturnInspection {
    /// The return record a decision pays from, for the order the goods came from, as checked at `inspectedAt`:
    /// accepted units are refunded at the unit price paid on the order, and the local shipping always.
    ///
    /// The compensation rules know a return as accepted or refused as a whole; a PARTIAL verdict becomes an accepted
    /// return of the accepted units only (the refused units are not refunded), which pays exactly the accepted units.
    /// A FAILED verdict, or one that accepts no unit, is a refused return of every unit that came back.
    public func returnRecord(order: OrderRecord, inspectedAt: Int64) throws(CompensationError) -> ReturnRecord {
        let prices = Dictionary(order.items.map { ($0.sku, $0.unitPrice) }, uniquingKeysWith: { first, _ in first })
        let anyAccepted = verdict != .failed && items.contains { $0.accepted > 0 }
        var returned: [ReturnedItem] = []
        for item in items {
            let quantity = anyAccepted ? item.accepted : item.returned
            guard quantity > 0 else { continue }
            guard let price = prices[item.sku] else { throw .skuNotOnOrder(sku: item.sku, order: order.orderNumber) }
            returned.append(try ReturnedItem(sku: item.sku, quantity: quantity, paidUnitPrice: price))
        }
        let check = QualityCheck(outcome: anyAccepted ? .accepted : .refused, inspectedBy: inspectedBy, inspectedAt: inspectedAt, notes: notes)
        return try ReturnRecord(orderNumber: order.orderNumber, items: returned, qualityCheck: check, localShippingCost: localShippingCost)
    }

    /// The same check with another local shipping cost (After-Sales overrides what the warehouse recorded).
    public func replacingLocalShipping(_ cost: Int64) throws(CompensationError) -> ReturnInspection {
        try ReturnInspection(
            complaintID: complaintID, orderNumber: orderNumber, verdict: verdict, items: items, localShippingCost: cost,
            receivedAt: receivedAt, inspectedBy: inspectedBy, notes: notes)
    }
}
