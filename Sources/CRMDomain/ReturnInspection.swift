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
