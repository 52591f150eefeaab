import Foundation
import CRMDomain
import GRDB

/// Turns the return quality checks recorded before checks were facts into ``ReturnInspection`` facts, once
/// (migration `v6_quality_checks_as_facts`), so that facts are the only record of a check.
///
/// Such a check lives only in the audit trail: action `RecordReturnQualityCheck`, subject the complaint id, and the
/// check in the detail as nine tab-separated fields — `qc1`, the key, the verdict (the wire's number: 1 passed,
/// 2 partial, 3 failed), the local shipping in rupiah, the received and checked times, the inspector, the items
/// (`sku,returned,accepted,finding` joined by `;`) and the note — with `%`, tab, `,`, `;` and newline escaped as
/// `%25`, `%09`, `%2C`, `%3B` and `%0A`. Each becomes the fact the server records today: id the key, time the check
/// time, source agent, the complaint's order number from its row. The audit entries stay as they are (the trail is
/// never rewritten). An entry that does not decode, names a complaint the store does not know or a check the domain
/// refuses is left in the trail only, and its complaint is decided as one without a check (record it again).
struct QualityCheckFactsMigration {
    let db: Database

    static let action = "RecordReturnQualityCheck"

    func run() throws {
        let rows = try Row.fetchAll(db, sql: "SELECT subject, detail FROM audit_log WHERE action = ? AND detail LIKE 'qc1%' ORDER BY seq", arguments: [Self.action])
        guard !rows.isEmpty else { return }
        var facts: [PreparedFact] = []
        for row in rows {
            let subject: String = row["subject"], detail: String = row["detail"]
            guard let complaint = try? ComplaintID(subject),
                  let order = try String.fetchOne(db, sql: "SELECT order_number FROM complaints WHERE complaint_id = ?", arguments: [subject]),
                  let orderNumber = try? OrderNumber(order),
                  let fact = Self.fact(detail: detail, complaint: complaint, order: orderNumber),
                  let prepared = try? PreparedFact(fact, index: facts.count, limits: .standard)
            else { continue }
            facts.append(prepared)
        }
        guard !facts.isEmpty else { return }
        // Each check its own request: a key already stored keeps its fact.
        _ = try FactWriter(tables: SQLiteTables(db: db)).append(facts, requestStarts: Array(facts.indices), conflicts: .keepStored, audit: [])
    }

    /// The fact of one audit detail; nil when it is not a check this format describes, or the domain refuses it.
    static func fact(detail: String, complaint: ComplaintID, order: OrderNumber) -> Fact? {
        let parts = detail.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 9, parts[0] == "qc1", let id = try? FactID(unescape(parts[1])), let verdictNumber = Int(parts[2]),
              let shipping = Int64(parts[3]), let received = Int64(parts[4]), let checked = Int64(parts[5])
        else { return nil }
        let verdict: InspectionVerdict
        switch verdictNumber {
        case 1: verdict = .passed
        case 2: verdict = .partial
        case 3: verdict = .failed
        default: return nil
        }
        var items: [InspectedItem] = []
        for text in parts[7].split(separator: ";") {
            let f = text.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            guard f.count == 4, let returned = Int64(f[1]), let accepted = Int64(f[2]),
                  let item = try? InspectedItem(sku: unescape(f[0]), returned: returned, accepted: accepted, finding: unescape(f[3]))
            else { return nil }
            items.append(item)
        }
        guard let inspection = try? ReturnInspection(
            complaintID: complaint, orderNumber: order, verdict: verdict, items: items, localShippingCost: shipping,
            receivedAt: received == 0 ? nil : received, inspectedBy: unescape(parts[6]), notes: unescape(parts[8]))
        else { return nil }
        return Fact(id: id, observedAt: checked, source: .agent, payload: .returnInspection(inspection))
    }

    private static func unescape(_ s: String) -> String {
        s.replacingOccurrences(of: "%0A", with: "\n").replacingOccurrences(of: "%3B", with: ";")
            .replacingOccurrences(of: "%2C", with: ",").replacingOccurrences(of: "%09", with: "\t")
            .replacingOccurrences(of: "%25", with: "%")
    }
}
