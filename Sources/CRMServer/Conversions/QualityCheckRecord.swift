import CRMDomain
import CRMMessages
import CRMStore

/// The warehouse's quality check of a return, as the server keeps it until After-Sales decides the complaint.
///
/// A check is a ``ReturnInspection`` fact (id the check's key, time the check time), so it is part of the
/// convergent facts; the ``ReturnRecord`` of the decision is built from the newest check. (Checks recorded before
/// checks were facts were moved from the audit trail into facts by the store's migration v6.)
struct QualityCheckRecord: Sendable, Hashable {
    static let action = "RecordReturnQualityCheck"

    var key: String
    var verdict: QualityCheckVerdict
    var localShipping: Int64
    var receivedMs: Int64
    var checkedMs: Int64
    var inspector: String
    var items: [QualityCheckItem]
    var note: String

    init(key: String, verdict: QualityCheckVerdict, localShipping: Int64, receivedMs: Int64, checkedMs: Int64, inspector: String, items: [QualityCheckItem], note: String) {
        self.key = key
        self.verdict = verdict
        self.localShipping = localShipping
        self.receivedMs = receivedMs
        self.checkedMs = checkedMs
        self.inspector = inspector
        self.items = items
        self.note = note
    }

    /// The check a ``ReturnInspection`` fact records; nil for another kind of fact.
    init?(fact: Fact) {
        guard case let .returnInspection(i) = fact.payload else { return nil }
        let verdict: QualityCheckVerdict = switch i.verdict {
        case .passed: .passed
        case .partial: .partial
        case .failed: .failed
        }
        self.init(
            key: fact.id.rawValue, verdict: verdict, localShipping: i.localShippingCost, receivedMs: i.receivedAt ?? 0,
            checkedMs: fact.observedAt, inspector: i.inspectedBy,
            items: i.items.map { QualityCheckItem(sku: $0.sku, quantityReturned: $0.returned, quantityAccepted: $0.accepted, finding: $0.finding) },
            note: i.notes)
    }

    /// The domain's record of this check for `complaint`.
    func inspection(of complaint: ComplaintID, order: OrderNumber) throws(RequestFieldError) -> ReturnInspection {
        let domainVerdict: InspectionVerdict
        switch verdict {
        case .passed: domainVerdict = .passed
        case .partial: domainVerdict = .partial
        case .failed: domainVerdict = .failed
        case .unspecified, .unrecognized: throw RequestFieldError("check.verdict", "is required: PASSED, PARTIAL or FAILED")
        }
        do {
            return try ReturnInspection(
                complaintID: complaint, orderNumber: order, verdict: domainVerdict,
                items: items.map { item throws(CompensationError) in
                    try InspectedItem(sku: item.sku, returned: item.quantityReturned, accepted: item.quantityAccepted, finding: item.finding)
                },
                localShippingCost: localShipping, receivedAt: receivedMs == 0 ? nil : receivedMs, inspectedBy: inspector, notes: note)
        } catch {
            throw RequestFieldError("check", error.description)
        }
    }

    /// The wire form.
    func wire(complaintID: String, orderNumber: String, showNotes: Bool) -> ReturnQualityCheck {
        let factID = (try? FactID(key)).map { IdempotencyKey(factID: $0) }
        return ReturnQualityCheck(
            factID: key, key: factID, complaintID: complaintID, orderNumber: orderNumber,
            items: showNotes ? items : items.map { QualityCheckItem(sku: $0.sku, quantityReturned: $0.quantityReturned, quantityAccepted: $0.quantityAccepted) },
            verdict: verdict, localShippingRupiah: localShipping, inspector: ActorRef(role: .agent, name: inspector, team: .warehouse),
            receivedMs: receivedMs, checkedMs: checkedMs, note: showNotes ? note : "")
    }
}
