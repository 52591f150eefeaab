import Testing
@testable import CRMDomain

// The read model's folds: each is independent of the order facts arrive in, and the snapshot computed from the
// summary at `now` is the one computed from the profile.

@Suite("Customer summary (the read model)")
struct CustomerSummaryTests {
    static func component(_ handles: [Handle]) throws -> IdentityComponent {
        try #require(IdentityGraph(facts: handles.enumerated().map { n, h in try message("m\(n)", from: h, on: .inPerson, at: jan2024) })
            .components.first { Set($0.handles) == Set(handles) })
    }

    @Test("folding the same facts in every order gives the same summary")
    func foldOrderDoesNotMatter() throws {
        let p = try phone("0812-1111-2222")
        let facts = [
            try message("a", from: p, on: .whatsApp, intent: .informationRequest, at: jan2024 + 3 * hour),
            try message("b", from: p, on: .whatsApp, intent: .informationRequest, at: jan2024 + hour),
            try message("c", from: p, on: .sms, intent: .informationRequest, at: jan2024 + 3 * hour, direction: .outbound),
            try observe("d", p, .name, "Budi", at: jan2024),
            try observe("e", p, .name, "", at: jan2024 + hour),
            try observe("f", p, .city, "Depok", at: jan2024 + 2 * hour),
            try rate("g", p, stars: 5, at: jan2024 + 4 * hour),
        ]
        let component = try Self.component([p])
        var summaries: Set<CustomerSummary> = []
        for order in permutations(of: Array(facts.indices)) {
            var summary = CustomerSummary(component: component)
            for i in order { summary.fold(facts[i]) }
            summaries.insert(summary)
        }
        #expect(summaries.count == 1)
        let summary = try #require(summaries.first)
        #expect(summary.firstSeenAt == jan2024)
        #expect(summary.lastSeenAt == jan2024 + 4 * hour)
        #expect(summary.interactionCount == 3)
        #expect(summary.ratingCount == 1)
        // Outbound messages are not requests; the times are kept ascending.
        #expect(summary.informationRequestTimes == [jan2024 + hour, jan2024 + 3 * hour])
        // A newer empty observation clears the name but stays the winner, so the older "Budi" cannot return.
        #expect(summary.name == nil)
        #expect(summary.fieldWinners[.name]?.factID == (try FactID("e")))
        #expect(summary.city == "Depok")
        #expect(summary.lastContacts.map(\.channel) == [.whatsApp, .sms])
        #expect(summary.handles.first?.channels == [.whatsApp, .sms])
        #expect(summary.handles.first?.firstInteractionAt == jan2024 + hour)
    }

    @Test("the newest contact per channel is decided by time, then fact id")
    func lastContactTieBreak() throws {
        let p = try phone("0812-1111-2222")
        let early = try message("wa/9", from: p, on: .whatsApp, at: jan2024, summary: "early")
        let tieLow = try message("wa/a", from: p, on: .whatsApp, at: jan2024 + hour, summary: "low")
        let tieHigh = try message("wa/b", from: p, on: .whatsApp, at: jan2024 + hour, summary: "high")
        for order in permutations(of: [early, tieLow, tieHigh]) {
            var summary = CustomerSummary(component: try Self.component([p]))
            for fact in order { summary.fold(fact) }
            #expect(summary.lastContacts.map(\.summary) == ["high"])
        }
    }

    @Test("information requests count in (start, end]")
    func requestWindow() throws {
        let p = try phone("0812-1111-2222")
        var summary = CustomerSummary(component: try Self.component([p]))
        for (n, t) in [jan2024, jan2024 + day, jan2024 + day, jan2024 + 2 * day].enumerated() {
            summary.fold(try message("r\(n)", from: p, on: .phoneCall, intent: .informationRequest, at: t))
        }
        #expect(summary.informationRequests(after: jan2024, upTo: jan2024 + day) == 2)
        #expect(summary.informationRequests(after: jan2024 - 1, upTo: jan2024 + 2 * day) == 4)
        #expect(summary.informationRequests(after: jan2024 + 2 * day, upTo: jan2024 + 3 * day) == 0)
        #expect(summary.informationRequests(after: jan2024 + day, upTo: jan2024) == 0)
    }

    @Test("a summary keeps the newest 10,000 request times and counts the older ones, whatever the order they arrive in")
    func requestTimesAreBounded() throws {
        let p = try phone("0812-1111-2222")
        let limit = CustomerSummary.requestTimeLimit
        var times = (0..<(limit + 5)).map { jan2024 + Int64($0) * Milliseconds.minute }
        var rng = SystemRandomNumberGenerator()
        var summaries: [CustomerSummary] = []
        for _ in 0..<2 {
            times.shuffle(using: &rng)
            var summary = CustomerSummary(component: try Self.component([p]))
            for (n, t) in times.enumerated() {
                summary.fold(try message("r\(t)", from: p, on: .phoneCall, intent: .informationRequest, at: t, summary: "\(n)"))
            }
            summaries.append(summary)
        }
        #expect(summaries[0].informationRequestTimes == summaries[1].informationRequestTimes)
        let summary = summaries[0]
        #expect(summary.informationRequestTimes.count == limit)
        #expect(summary.informationRequestTimes.first == jan2024 + 5 * Milliseconds.minute)
        #expect(summary.olderInformationRequests == 5)
        #expect(summary.informationRequestCount == limit + 5)
        let snapshot = CallerSnapshot(summary: summary, now: jan2024 + Int64(limit + 5) * Milliseconds.minute, problem: nil)
        #expect(snapshot.informationRequests == CountWindow(allTime: limit + 5, recent: limit))
    }

    @Test("orders and complaints are placed in their order, replaced by number or id, and removed")
    func digests() throws {
        let p = try oms("C-1")
        var summary = CustomerSummary(component: try Self.component([p]))
        let view = { (number: String, placed: Int64, stages: [TrackingStage]) -> OrderView in
            OrderView(
                record: try orderRecord(number, customer: p, placedAt: placed), recordFactID: try FactID("o-\(number)"),
                tracking: try stages.enumerated().map { n, s in TrackingRecord(stage: s, at: placed + Int64(n) * hour, factID: try FactID("t-\(number)-\(n)")) })
        }
        summary.place(OrderDigest(try view("B", jan2024, [])))
        summary.place(OrderDigest(try view("A", jan2024, [])))
        summary.place(OrderDigest(try view("C", jan2024 - day, [])))
        #expect(summary.orders.map(\.orderNumber.rawValue) == ["C", "A", "B"])
        summary.place(OrderDigest(try view("A", jan2024, [.cancelled])))
        #expect(summary.orders.map(\.orderNumber.rawValue) == ["C", "A", "B"])
        #expect(summary.liveOrderCount == 2)
        #expect(summary.spend == 2_000_000)
        summary.removeOrder(try orderNo("C"))
        #expect(summary.orders.map(\.orderNumber.rawValue) == ["A", "B"])

        var complaint = Complaint(opening: try opening("K-1", customer: p, order: "B", category: .broken), openedAt: jan2024 + day)
        summary.place(ComplaintDigest(complaint))
        try complaint.apply(transition(.startReview, by: .afterSales, at: jan2024 + day + hour))
        summary.place(ComplaintDigest(complaint))
        #expect(summary.complaints.map(\.state) == [.inReview])
        #expect(summary.complaints.first?.firstResponseAt == jan2024 + day + hour)
        summary.removeComplaint(try complaintNo("K-1"))
        #expect(summary.complaints.isEmpty)
    }

    @Test("the snapshot from a profile's summary is the snapshot from the profile, at any time")
    func snapshotFromSummary() throws {
        let p = try phone("0812-1111-2222"), customer = try oms("C-1")
        let facts = [
            try message("m1", from: p, on: .whatsApp, intent: .informationRequest, at: jan2024),
            try link("l1", p, customer, at: jan2024),
            try order("o1", "ORD-1", customer: customer, items: [("SKU-1", 2, 60_000_000)], placedAt: jan2024 - 100 * day),
            try openComplaint("k1", "K-1", customer: p, order: "ORD-1", at: jan2024 + hour),
        ]
        let profile = try #require(ProfileProjection(facts: facts).profile(for: p))
        for now in [jan2024, jan2024 + 2 * day, jan2024 + 300 * day] {
            #expect(CallerSnapshot(summary: profile.summary, now: now, problem: .complaint(nil)) == CallerSnapshot(profile: profile, now: now, problem: .complaint(nil)))
        }
        let snapshot = CallerSnapshot(summary: profile.summary, now: jan2024 + 2 * day, problem: nil)
        #expect(snapshot.tier == .gold)
        #expect(snapshot.informationRequests == CountWindow(allTime: 1, recent: 1))
        #expect(snapshot.openComplaints.map(\.serviceLevel.firstResponse.isBreached) == [true])
        #expect(CallerSnapshot(summary: profile.summary, now: jan2024 + 300 * day, problem: nil).tier == .silver)
    }
}
