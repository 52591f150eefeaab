import CRMDomain
import CRMTestSupport
import Foundation
import GRDB
import Synchronization
import Testing
@testable import CRMStore

// The read model (`customer_summaries`): filled by migration v4 for stores that predate it, checked and repaired by
// `verifyReadModel`, rebuilt when damaged, and written by appends together with their audit entries.

@Suite("Read model")
struct ReadModelTests {
    /// A small history: two customers, a link that merges handles, orders with tracking, a complaint and ratings.
    static func history() throws -> [Fact] {
        let budi = try phone("0812-1111-2222"), budiMail = try email("budi@tokojaya.id"), budiOMS = try oms("C-1001")
        let sari = try phone("0813-3333-4444")
        return [
            try message("wa/1", from: budi, on: .whatsApp, intent: .informationRequest, at: jan2024),
            try message("mail/1", from: budiMail, on: .email, intent: .complaint, at: jan2024 + hour),
            try link("agent/link-1", budi, budiMail, at: jan2024 + 2 * hour),
            try observe("agent/name-1", budi, .name, "Budi Santoso", at: jan2024 + 3 * hour),
            try order("oms/o1", "ORD-1", customer: budiOMS, placedAt: jan2024 - 30 * day),
            try link("oms/link-1", budiOMS, budi, at: jan2024 - 30 * day, source: .orderSystem),
            try track("oms/t1", "ORD-1", .delivered, at: jan2024 - 2 * day),
            try openComplaint("agent/k1", "K-1", customer: budi, at: jan2024 + 4 * hour),
            try step("agent/k1-1", "K-1", .startReview, by: .afterSales, at: jan2024 + 5 * hour),
            try rate("self/r1", budi, stars: 4, at: jan2024 + 6 * hour),
            try message("wa/2", from: sari, on: .whatsApp, at: jan2024 + 7 * hour),
            try order("oms/o2", "ORD-2", customer: sari, placedAt: jan2024 - day),
        ]
    }

    /// Every customer's stored summary bytes and the projection's, by customer id.
    static func summaries(_ store: any InspectableStore, _ facts: [Fact]) async throws -> (stored: [String: [UInt8]], expected: [String: [UInt8]]) {
        let projection = ProfileProjection(facts: facts)
        var stored: [String: [UInt8]] = [:]
        var expected: [String: [UInt8]] = [:]
        for profile in projection.profiles() {
            expected[profile.id.rawValue] = try SummaryCodec.encode(profile.summary)
            stored[profile.id.rawValue] = try await store.storedSummaryBytes(of: profile.id)
        }
        return (stored, expected)
    }

    @Test("migration v4 fills the read model of a store written before it, equal to the projection of its facts")
    func migrationFillsExistingStore() async throws {
        let dir = try TemporaryDirectory()
        let facts = try Self.history()
        try await withStore(in: dir) { store in
            _ = try await store.append(facts)
            // Back to the schema of version 3: no read model, and the migration not yet run.
            try await store.executeRaw("DROP TABLE customer_summaries")
            try await store.executeRaw("DELETE FROM grdb_migrations WHERE identifier = 'v4_customer_summaries'")
        }
        let steps = StepLog()
        let store = try SQLiteStore(path: dir.file("crm.sqlite"), progress: { step, done, total in steps.add("\(step) \(done)/\(total)") })
        let (stored, expected) = try await Self.summaries(store, facts)
        #expect(stored == expected)
        #expect(stored.count == 2)
        #expect(steps.lines.first == "read model 0/2")
        #expect(steps.lines.last == "read model 2/2")
        let report = try await store.verifyReadModel()
        #expect(report.checked == 2)
        #expect(report.differences == [])
        try await store.close()
    }

    @Test("verify names each customer whose read model differs, and repair rewrites it from the facts")
    func verifyAndRepair() async throws {
        let facts = try Self.history()
        try await withStore { store in
            _ = try await store.append(facts)
            let budi = try #require(try await store.customerID(for: phone("0812-1111-2222")))
            let sari = try #require(try await store.customerID(for: phone("0813-3333-4444")))
            // One summary damaged, one replaced by another customer's, one stray row.
            try await store.executeRaw("UPDATE customer_summaries SET summary = x'0107' WHERE customer_id = ?", arguments: [budi.rawValue])
            let sariBytes = try #require(try await store.storedSummaryBytes(of: sari))
            var wrong = try SummaryCodec.decode(Data(sariBytes))
            wrong.fold(try message("wa/extra", from: phone("0813-3333-4444"), on: .sms, at: jan2024 + day))
            try await store.executeRaw(
                "UPDATE customer_summaries SET summary = ? WHERE customer_id = ?", arguments: [Data(try SummaryCodec.encode(wrong)), sari.rawValue])
            try await store.executeRaw("INSERT INTO customer_summaries (customer_id, summary) VALUES ('cus_gone', x'01')")

            let found = try await store.verifyReadModel()
            #expect(found.checked == 2)
            #expect(found.differences.count == 3)
            #expect(found.differences.contains { $0.hasPrefix("customer \(budi): the stored read model differs from its facts in damaged") })
            #expect(found.differences.contains("customer \(sari): the stored read model differs from its facts in handles, first or last seen, counts, last contacts"))
            #expect(found.differences.contains("customer cus_gone: a read model is stored but no such customer exists"))
            #expect(found.repaired == 0)

            let repaired = try await store.verifyReadModel(repair: true)
            #expect(repaired.repaired == 3)
            #expect(try await store.verificationProblems() == [])
            let (stored, expected) = try await Self.summaries(store, facts)
            #expect(stored == expected)
        }
    }

    @Test("a damaged or missing read model does not block reads or writes: reads project it, the next append rebuilds it")
    func damagedSummaryIsRebuiltByTheNextWrite() async throws {
        var facts = try Self.history()
        try await withStore { store in
            _ = try await store.append(facts)
            let budi = try #require(try await store.customerID(for: phone("0812-1111-2222")))
            try await store.executeRaw("UPDATE customer_summaries SET summary = x'01' WHERE customer_id = ?", arguments: [budi.rawValue])
            // Reads meanwhile project the customer from the facts rather than fail or answer less.
            let projected = try #require(ProfileProjection(facts: facts).profile(for: phone("0812-1111-2222"))).summary
            #expect(try await store.summary(of: budi) == projected)
            #expect(try await store.summary(for: phone("0812-1111-2222")) == projected)
            try await store.executeRaw("DELETE FROM customer_summaries WHERE customer_id = ?", arguments: [budi.rawValue])
            #expect(try await store.summary(for: phone("0812-1111-2222")) == projected)
            #expect(try await store.summary(of: CustomerID("cus_00000000000000000000000000000000")) == nil)
            let next = try message("wa/3", from: phone("0812-1111-2222"), on: .whatsApp, at: jan2024 + day)
            #expect(try await store.append([next]) == [.inserted])
            facts.append(next)
            let (stored, expected) = try await Self.summaries(store, facts)
            #expect(stored == expected)
        }
    }

    @Test("an append with keep-stored conflicts leaves a stored fact as it is, and says whose each fact is", arguments: StoreKind.allCases)
    func keepStoredAndReceipts(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let p = try phone("0812-1111-2222")
            let first = try observe("agent/1", p, .name, "Budi", at: jan2024)
            let retry = try observe("agent/1", p, .name, "Andi", at: jan2024 + hour)
            _ = try await store.append([first])
            let receipt = try await store.append([[retry], [try track("oms/t", "ORD-9", .paid, at: jan2024)]], conflicts: .keepStored, audit: [])
            #expect(receipt.outcomes == [.conflict(replaced: false), .inserted])
            let customer = try await store.customerID(for: p)
            #expect(receipt.customers == [customer, nil])
            #expect(try await store.summary(for: p)?.name == "Budi")
            #expect(try await store.verificationProblems() == [])
        }
    }

    @Test("a retried request stores none of its facts, not even ones it did not bring the first time", arguments: StoreKind.allCases)
    func retriedRequestAddsNothing(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let p = try phone("0812-1111-2222"), mail = try email("budi@tokojaya.id"), other = try email("lain@tokojaya.id")
            let pushed = try message("wa/1", from: p, on: .whatsApp, at: jan2024)
            let first = try await store.append([[pushed, try link("wa/1/stated/0", p, mail, at: jan2024)]], conflicts: .keepStored, audit: [])
            #expect(first.outcomes == [.inserted, .inserted])
            let retry = try await store.append(
                [[pushed, try link("wa/1/stated/0", p, mail, at: jan2024), try link("wa/1/stated/1", p, other, at: jan2024)],
                 [try message("wa/2", from: p, on: .whatsApp, at: jan2024 + hour)]],
                conflicts: .keepStored, audit: [])
            #expect(retry.outcomes == [.duplicate, .duplicate, .duplicate, .inserted])
            #expect(retry.customers[2] == nil)
            #expect(try await store.customerID(for: other) == nil)
            #expect(try await !store.containsFact(FactID("wa/1/stated/1")))
            #expect(retry.customers[0] == retry.customers[3])
        }
    }

    @Test("an append's audit entries are written in its transaction, only when it stored something, about the customer it names", arguments: StoreKind.allCases)
    func auditWithTheAppend(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let p = try phone("0812-1111-2222")
            let fact = try message("wa/1", from: p, on: .whatsApp, at: jan2024)
            let audit = [
                AppendAudit(at: jan2024, actor: "whatsapp", action: "PushInteraction", subject: .customerOfFact(0), detail: "wa/1"),
                AppendAudit(at: jan2024, actor: "whatsapp", action: "Batch", subject: .text("interactions")),
            ]
            let receipt = try await store.append([[fact]], conflicts: .keepStored, audit: audit)
            let customer = try #require(receipt.customers[0])
            #expect(receipt.storedSomething)
            let again = try await store.append([[fact]], conflicts: .keepStored, audit: audit)
            #expect(!again.storedSomething)
            let entries = try await store.auditEntries(subject: nil, after: nil, limit: 10).map(\.entry)
            #expect(entries == [
                AuditEntry(at: jan2024, actor: "whatsapp", action: "PushInteraction", subject: customer.rawValue, detail: "wa/1"),
                AuditEntry(at: jan2024, actor: "whatsapp", action: "Batch", subject: "interactions"),
            ])
        }
    }

    @Test("a caller snapshot read from the read model equals the one projected from the facts", arguments: StoreKind.allCases)
    func snapshotFromTheReadModel(kind: StoreKind) async throws {
        let facts = try Self.history()
        try await withStore(kind) { store in
            _ = try await store.append(facts)
            let projection = ProfileProjection(facts: facts)
            let now = jan2024 + 10 * day
            for handle in [try phone("0812-1111-2222"), try email("budi@tokojaya.id"), try oms("C-1001"), try phone("0813-3333-4444")] {
                let expected = projection.profile(for: handle).map { CallerSnapshot(profile: $0, now: now, problem: .informationRequest) }
                #expect(try await store.callerSnapshot(for: handle, now: now, problem: .informationRequest) == expected)
            }
            let budi = try #require(try await store.summary(for: phone("0812-1111-2222")))
            #expect(budi.handles.map(\.handle) == [try email("budi@tokojaya.id"), try oms("C-1001"), try phone("0812-1111-2222")].sorted())
            #expect(budi.interactionCount == 2)
            #expect(budi.informationRequestTimes == [jan2024])
            #expect(budi.orders.map(\.orderNumber.rawValue) == ["ORD-1"])
            #expect(budi.complaints.map(\.state) == [.inReview])
            #expect(budi.ratingCount == 1)
        }
    }
}

/// Lines reported from another thread.
final class StepLog: Sendable {
    private let storage = Mutex<[String]>([])
    func add(_ line: String) { storage.withLock { $0.append(line) } }
    var lines: [String] { storage.withLock { $0 } }
}
