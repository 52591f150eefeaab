import CRMDomain
import Testing
@testable import CRMStore

@Suite("Reading the store")
struct QueryTests {
    /// Budi: a phone, an e-mail stated in a WhatsApp message, an order-system id; messages on three channels, an order
    /// with tracking, a complaint worked through its flow, a rating. Siti: a phone and one message.
    static func facts() throws -> [Fact] {
        let p = try phone("0812-1111-2222"), e = try email("budi@tokojaya.id"), o = try oms("C-001"), s = try phone("0813-9999-0000")
        return [
            try observe("agent/name", p, .name, "Budi Santoso", at: jan2024, source: .agent),
            try observe("agent/company", p, .company, "Toko Jaya", at: jan2024, source: .agent),
            try link("whatsapp/link", p, e, at: jan2024 + hour, source: .channel),
            try link("oms/link", p, o, at: jan2024 + 2 * hour, source: .orderSystem),
            try message("whatsapp/1", from: p, on: .whatsApp, intent: .informationRequest, at: jan2024 + 3 * hour),
            try message("email/1", from: e, on: .email, intent: .order, at: jan2024 + 4 * hour),
            try message("ivr/1", from: p, on: .phoneCall, intent: .complaint, at: jan2024 + 5 * hour),
            try message("whatsapp/2", from: p, on: .whatsApp, intent: .informationRequest, at: jan2024 + 6 * hour),
            try order("oms/ORD-1", "ORD-1", customer: o, items: [("SKU-1", 10, 20_000_000)], placedAt: jan2024 + day, estimate: jan2024 + 30 * day),
            try track("oms/ORD-1/paid", "ORD-1", .paid, at: jan2024 + 2 * day),
            try track("oms/ORD-1/customs", "ORD-1", .atCustoms, at: jan2024 + 20 * day),
            try openComplaint("agent/K-1", "K-1", customer: p, order: "ORD-1", category: .lostAtCustoms, at: jan2024 + 31 * day),
            try step("agent/K-1/1", "K-1", .startReview, by: .afterSales, at: jan2024 + 31 * day + hour),
            try step("agent/K-1/2", "K-1", .decide(decision(refunding: 500_000)), by: .afterSales, at: jan2024 + 33 * day),
            try rate("survey/1", p, stars: 4, at: jan2024 + 40 * day),
            try observe("agent/siti", s, .name, "Siti Rahma", at: jan2024, source: .agent),
            try message("sms/1", from: s, on: .sms, at: jan2024 + hour),
        ]
    }

    @Test("the profile read back equals the domain's projection of the same facts, by any written form of any handle", arguments: StoreKind.allCases)
    func profileMatchesDomain(kind: StoreKind) async throws {
        let facts = try Self.facts()
        let expected = ProfileProjection(facts: facts)
        try await withStore(kind) { store in
            _ = try await store.append(facts)
            for raw in ["0812-1111-2222", "62812 1111 2222", "+62 812-1111-2222"] {
                let profile = try await store.profile(for: phone(raw))
                #expect(profile?.canonicalDescription == expected.profile(for: try phone(raw))?.canonicalDescription)
            }
            let byEmail = try await store.profile(for: email(" BUDI@tokojaya.id "))
            #expect(byEmail?.handles.count == 3)
            #expect(byEmail?.counters.interactions == 4)
            let id = try #require(byEmail?.id)
            #expect(try await store.customerID(for: oms("C-001")) == id)
            #expect(try await store.profile(of: id) == byEmail)
            let unknown = try phone("0899-0000-0000")
            let many = try await store.customerIDs(for: [oms("C-001"), phone("0812-1111-2222"), unknown, oms("C-001")])
            #expect(many == [try oms("C-001"): id, try phone("0812-1111-2222"): id])
            #expect(try await store.profile(for: phone("0899-0000-0000")) == nil)
        }
    }

    @Test("the caller snapshot shows name, tier, counts, open complaints, orders and last contacts", arguments: StoreKind.allCases)
    func callerSnapshot(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            _ = try await store.append(Self.facts())
            let now = jan2024 + 45 * day
            let snapshot = try #require(try await store.callerSnapshot(for: phone("+62 812 1111 2222"), now: now, problem: .complaint(.lostAtCustoms)))
            #expect(snapshot.name == "Budi Santoso")
            #expect(snapshot.company == "Toko Jaya")
            #expect(snapshot.tier == .gold)  // Rp 200,000,000 in the window
            #expect(snapshot.informationRequests.allTime == 2 && snapshot.informationRequests.recent == 2)
            #expect(snapshot.openComplaints.map(\.id.rawValue) == ["K-1"])
            #expect(snapshot.recentOrders.first?.status == .atCustoms)
            #expect(snapshot.lastContacts.map(\.channel) == [.whatsApp, .email, .phoneCall])
            #expect(snapshot.routing.queue == .customsAndSupplier)
            let same = try await store.callerSnapshot(of: snapshot.customerID, now: now, problem: .complaint(.lostAtCustoms))
            #expect(same == snapshot)
        }
    }

    @Test("search finds customers by the start of any word of their current name", arguments: StoreKind.allCases)
    func search(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            _ = try await store.append(Self.facts())
            #expect(try await store.searchCustomers(name: "budi", limit: 10).map(\.name) == ["Budi Santoso"])
            #expect(try await store.searchCustomers(name: "SANTO bu", limit: 10).first?.handles.count == 3)
            #expect(try await store.searchCustomers(name: "rahma", limit: 10).map(\.name) == ["Siti Rahma"])
            #expect(try await store.searchCustomers(name: "joko", limit: 10).isEmpty)
            // A newer observation renames the customer; the old name no longer finds them.
            _ = try await store.append([try observe("agent/rename", phone("0812-1111-2222"), .name, "Budiman", at: jan2024 + day, source: .agent)])
            #expect(try await store.searchCustomers(name: "santoso", limit: 10).isEmpty)
            #expect(try await store.searchCustomers(name: "budiman", limit: 10).count == 1)
        }
    }

    @Test("the timeline pages newest first across channels, each record exactly once", arguments: StoreKind.allCases)
    func timelinePaging(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            _ = try await store.append(Self.facts())
            let id = try #require(try await store.customerID(for: phone("0812-1111-2222")))
            var seen: [String] = []
            var cursor: TimelineCursor?
            repeat {
                let page = try await store.timeline(of: id, before: cursor, limit: 3)
                seen += page.records.map(\.factID.rawValue)
                cursor = try page.next.map { try TimelineCursor(token: $0.token) }
            } while cursor != nil
            #expect(seen == ["whatsapp/2", "ivr/1", "email/1", "whatsapp/1"])
            await #expect(throws: StoreError.self) { try await store.timeline(of: id, before: nil, limit: 0) }
            #expect(throws: StoreError.self) { try TimelineCursor(token: "yesterday") }
        }
    }

    @Test("orders, tracking, complaints, ratings and report data", arguments: StoreKind.allCases)
    func ordersComplaintsReports(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            _ = try await store.append(Self.facts())
            let id = try #require(try await store.customerID(for: phone("0812-1111-2222")))
            let view = try #require(try await store.order(OrderNumber("ORD-1")))
            #expect(view.status == .atCustoms)
            #expect(try await store.orders(of: id) == [view])
            #expect(try await store.trackingEvents(of: OrderNumber("ORD-1")).map(\.stage) == [.paid, .atCustoms])
            #expect(try await store.overdueOrders(now: jan2024 + 31 * day, limit: 10).map(\.orderNumber.rawValue) == ["ORD-1"])
            #expect(try await store.overdueOrders(now: jan2024 + 29 * day, limit: 10).isEmpty)

            let complaint = try #require(try await store.complaint(ComplaintID("K-1")))
            #expect(complaint.state == .decided)
            #expect(try await store.complaints(of: id) == [complaint])
            #expect(try await store.complaints(inStates: [.decided, .opened], openedBefore: nil, limit: 10) == [complaint])
            #expect(try await store.complaints(inStates: [.decided], openedBefore: jan2024, limit: 10).isEmpty)
            #expect(try await store.ratings(of: id).map(\.rating.stars) == [4])

            let period = try TimeRange(start: jan2024, end: jan2024 + 60 * day)
            let data = try await store.reportData(for: period)
            #expect(data.complaints == [complaint])
            #expect(RefundRecap(complaints: data.complaints, period: period).grandTotal == 500_000)
            #expect(RatingReport(ratings: data.ratings.map(\.rating)).total == 1)
            let buyers = try await store.buyerProfiles(placedIn: nil)
            #expect(buyers.map(\.id) == [id])
            #expect(TierDistribution(profiles: buyers, now: jan2024 + 45 * day).customers[.gold] == 1)
        }
    }

    @Test("audit entries and hashed tokens", arguments: StoreKind.allCases)
    func auditAndTokens(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            try await store.appendAudit([
                AuditEntry(at: jan2024, actor: "sari", action: "customer.view", subject: "cus_1"),
                AuditEntry(at: jan2024 + 1, actor: "andi", action: "complaint.decide", subject: "K-1", detail: "Rp 500.000"),
            ])
            let all = try await store.auditEntries(subject: nil, after: nil, limit: 10)
            #expect(all.map(\.entry.actor) == ["sari", "andi"])
            #expect(try await store.auditEntries(subject: "K-1", after: nil, limit: 10).map(\.entry.action) == ["complaint.decide"])
            #expect(try await store.auditEntries(subject: nil, after: all[0].sequence, limit: 10).count == 1)

            let digest: [UInt8] = Array(repeating: 7, count: 32)
            try await store.saveToken(AccessTokenRecord(digest: digest, principal: "sari", role: "sales", createdAt: jan2024, expiresAt: jan2024 + day))
            let token = try #require(try await store.token(digest: digest))
            #expect(token.isValid(now: jan2024 + hour))
            #expect(try await store.revokeToken(digest: digest, at: jan2024 + 2 * hour))
            #expect(try await store.token(digest: digest)?.isValid(now: jan2024 + 3 * hour) == false)
            #expect(try await store.revokeToken(digest: [1, 2, 3], at: jan2024) == false)
        }
    }
}
