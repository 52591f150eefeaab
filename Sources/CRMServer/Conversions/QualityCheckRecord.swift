import Foundation
import CRMDomain
import CRMMessages
import CRMStore

/// The warehouse's quality check of a return, as the server keeps it until After-Sales decides the complaint.
///
/// A check is a ``ReturnInspection`` fact (id the check's key, time the check time), so it is part of the
/// convergent facts; the ``ReturnRecord`` of the decision is built from the newest check. Checks recorded before
/// checks were facts live in the audit trail (action `RecordReturnQualityCheck`, subject the complaint id, the
/// check encoded in the detail) and are still read from there when a complaint has no check fact.
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

    /// The audit detail.
    var encoded: String {
        let itemText = items.map { [Self.escape($0.sku), String($0.quantityReturned), String($0.quantityAccepted), Self.escape($0.finding)].joined(separator: ",") }
            .joined(separator: ";")
        return ["qc1", Self.escape(key), String(verdict.rawValue), String(localShipping), String(receivedMs), String(checkedMs),
                Self.escape(inspector), itemText, Self.escape(note)].joined(separator: "\t")
    }

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

    /// Decodes an audit detail; nil when it is not a check.
    init?(encoded: String) {
        let parts = encoded.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 9, parts[0] == "qc1", let v = Int32(parts[2]), let ship = Int64(parts[3]),
              let received = Int64(parts[4]), let checked = Int64(parts[5]) else { return nil }
        var items: [QualityCheckItem] = []
        for itemText in parts[7].split(separator: ";") {
            let f = itemText.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            guard f.count == 4, let r = Int64(f[1]), let a = Int64(f[2]) else { return nil }
            items.append(QualityCheckItem(sku: Self.unescape(f[0]), quantityReturned: r, quantityAccepted: a, finding: Self.unescape(f[3])))
        }
        self.init(
            key: Self.unescape(parts[1]), verdict: QualityCheckVerdict(rawValue: v), localShipping: ship, receivedMs: received,
            checkedMs: checked, inspector: Self.unescape(parts[6]), items: items, note: Self.unescape(parts[8]))
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

    private static func escape(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "%": out += "%25"
            case "\t": out += "%09"
            case ",": out += "%2C"
            case ";": out += "%3B"
            case "\n": out += "%0A"
            default: out.append(c)
            }
        }
        return out
    }

    private static func unescape(_ s: String) -> String {
        s.replacingOccurrences(of: "%0A", with: "\n").replacingOccurrences(of: "%3B", with: ";")
            .replacingOccurrences(of: "%2C", with: ",").replacingOccurrences(of: "%09", with: "\t")
            .replacingOccurrences(of: "%25", with: "%")
    }
}
