import CRMDomain
import CRMTestSupport
import Testing
@testable import CRMStore

@Suite("Quality checks kept only in the audit trail become facts")
struct QualityCheckMigrationTests {
    /// Audit details as versions before checks were facts wrote them (`qc1`, tab-separated, `%`-escaped).
    static let passedDetail = "qc1\tqc/1\t2\t15000\t\(jan2024 + 2 * day)\t\(jan2024 + 3 * day)\twati\tSKU-1,2,1,retak%2C pecah;SKU-2,1,0,\tsatu%09rusak"
    static let laterDetail = "qc1\tqc/2\t3\t0\t0\t\(jan2024 + 4 * day)\twati\tSKU-1,2,0,\t"

    @Test("migration v6 turns each qc1 audit entry into a ReturnInspection fact, keeps a key already stored, and skips what it cannot read")
    func migratesAuditOnlyChecks() async throws {
        let dir = try TemporaryDirectory()
        let budi = try phone("0812-1111-2222")
        try await withStore(in: dir) { store in
            _ = try await store.append([
                try order("oms/1", "ORD-1", customer: budi, items: [("SKU-1", 3, 100_000), ("SKU-2", 1, 40_000)], placedAt: jan2024),
                try openComplaint("cmp/1", "K-1", customer: budi, category: .customerReturn, at: jan2024 + day),
            ])
            try await store.appendAudit([
                AuditEntry(at: jan2024 + 3 * day, actor: "agent:wati", action: "RecordReturnQualityCheck", subject: "K-1", detail: Self.passedDetail),
                AuditEntry(at: jan2024 + 4 * day, actor: "agent:wati", action: "RecordReturnQualityCheck", subject: "K-1", detail: Self.laterDetail),
                // A complaint the store does not know, a detail that is not a check, and a check the domain refuses.
                AuditEntry(at: jan2024, actor: "agent:wati", action: "RecordReturnQualityCheck", subject: "K-404", detail: Self.laterDetail),
                AuditEntry(at: jan2024, actor: "agent:wati", action: "RecordReturnQualityCheck", subject: "K-1", detail: "PASSED on order ORD-1"),
                AuditEntry(at: jan2024, actor: "agent:wati", action: "RecordReturnQualityCheck", subject: "K-1", detail: "qc1\tqc/3\t1\t-5\t0\t1\twati\tSKU-1,1,1,\t"),
            ])
            // Back to the schema of version 5: the migration not yet run.
            try await store.executeRaw("DELETE FROM grdb_migrations WHERE identifier = 'v6_quality_checks_as_facts'")
        }
        try await withStore(in: dir) { store in
            let facts = try await store.returnInspections(of: ComplaintID("K-1"))
            #expect(facts.map(\.id.rawValue) == ["qc/1", "qc/2"])
            let first = try #require(facts.first)
            #expect(first.observedAt == jan2024 + 3 * day)
            #expect(first.source == .agent)
            guard case .returnInspection(let check) = first.payload else { Issue.record("not an inspection: \(first.payload)"); return }
            #expect(check.verdict == .partial)
            #expect(check.orderNumber.rawValue == "ORD-1")
            #expect(check.localShippingCost == 15_000)
            #expect(check.receivedAt == jan2024 + 2 * day)
            #expect(check.inspectedBy == "wati")
            #expect(check.notes == "satu\trusak")
            #expect(check.items.map(\.sku) == ["SKU-1", "SKU-2"])
            #expect(check.items.map(\.accepted) == [1, 0])
            #expect(check.items.first?.finding == "retak, pecah")
            guard case .returnInspection(let later) = facts[1].payload else { return }
            #expect(later.verdict == .failed && later.receivedAt == nil)
            #expect(try await !store.containsFact(FactID("qc/3")))
            // The trail itself is not rewritten.
            #expect(try await store.auditEntries(subject: "K-1", after: nil, limit: 100).count == 4)
        }
    }

    @Test("a check whose key is already a fact keeps the stored fact")
    func keepsStoredFacts() async throws {
        let dir = try TemporaryDirectory()
        let budi = try phone("0812-1111-2222")
        try await withStore(in: dir) { store in
            let stored = try ReturnInspection(
                complaintID: ComplaintID("K-1"), orderNumber: OrderNumber("ORD-1"), verdict: .passed,
                items: [InspectedItem(sku: "SKU-1", returned: 1, accepted: 1)], localShippingCost: 9_000, receivedAt: nil, inspectedBy: "andi", notes: "")
            _ = try await store.append([
                try order("oms/1", "ORD-1", customer: budi, items: [("SKU-1", 3, 100_000)], placedAt: jan2024),
                try openComplaint("cmp/1", "K-1", customer: budi, category: .customerReturn, at: jan2024 + day),
                try fact("qc/1", at: jan2024 + 5 * day, source: .agent, .returnInspection(stored)),
            ])
            try await store.appendAudit([
                AuditEntry(at: jan2024 + 3 * day, actor: "agent:wati", action: "RecordReturnQualityCheck", subject: "K-1", detail: Self.passedDetail),
            ])
            try await store.executeRaw("DELETE FROM grdb_migrations WHERE identifier = 'v6_quality_checks_as_facts'")
        }
        try await withStore(in: dir) { store in
            let facts = try await store.returnInspections(of: ComplaintID("K-1"))
            #expect(facts.count == 1)
            guard case .returnInspection(let check) = facts.first?.payload else { Issue.record("no inspection"); return }
            #expect(check.inspectedBy == "andi" && check.localShippingCost == 9_000)
        }
    }
}
