import Testing
@testable import CRMDomain

@Suite("Profile projection: fields, counters, orders, complaints, duplicates")
struct ProfileProjectionTests {
    let wa: Handle, mail: Handle, cust: Handle

    init() throws {
        wa = try phone("0812-3456-7890")
        mail = try email("budi@tokojaya.id")
        cust = try oms("C-100")
    }

    @Test("Field conflicts: newest wins, then source priority, then fact id; an empty value clears")
    func fieldConflicts() throws {
        let newest = ProfileProjection(facts: [
            try observe("a", wa, .name, "Budi", at: 10, source: .agent),
            try observe("b", wa, .name, "Budi Santoso", at: 20, source: .bulkImport),
        ])
        #expect(newest.profile(for: wa)?.name == "Budi Santoso")

        let priority = ProfileProjection(facts: [
            try observe("z", wa, .name, "budi", at: 10, source: .channel),
            try observe("a", wa, .name, "Budi S.", at: 10, source: .agent),
        ])
        #expect(priority.profile(for: wa)?.name == "Budi S.")

        let byID = ProfileProjection(facts: [
            try observe("a", wa, .city, "Bandung", at: 10),
            try observe("b", wa, .city, "Bekasi", at: 10),
        ])
        #expect(byID.profile(for: wa)?.city == "Bekasi")
        #expect(byID.profile(for: wa)?.fields[.city]?.factID == (try FactID("b")))

        let cleared = ProfileProjection(facts: [
            try observe("a", wa, .company, "PT Jaya", at: 10),
            try observe("b", wa, .company, "  ", at: 11),
        ])
        #expect(cleared.profile(for: wa)?.company == nil)
    }

    @Test("Observations from linked handles compete in one profile")
    func linkedFieldsCompete() throws {
        let p = ProfileProjection(facts: [
            try observe("a", wa, .name, "Budi", at: 10),
            try observe("b", mail, .name, "Budi Santoso", at: 30),
            try link("l", wa, mail, at: 20),
        ])
        #expect(p.profile(for: wa)?.name == "Budi Santoso")
        #expect(p.profile(for: wa) == p.profile(for: mail))
    }

    @Test("Counters are derived: duplicates and re-ingestion change nothing")
    func countersDerived() throws {
        let facts = [
            try message("m1", from: wa, on: .whatsApp, intent: .informationRequest, at: 1),
            try message("m2", from: wa, on: .whatsApp, intent: .informationRequest, at: 2, direction: .outbound),
            try message("m3", from: mail, on: .email, intent: .complaint, at: 3),
            try link("l", wa, cust, at: 4),
            try order("o1", "ORD-1", customer: cust, items: [("A", 2, 300_000)], placedAt: 5),
            try order("o2", "ORD-2", customer: cust, items: [("B", 1, 700_000)], placedAt: 6),
            try track("t", "ORD-2", .cancelled, at: 7),
            try openComplaint("c", "K-1", customer: wa, at: 8),
            try rate("r", wa, stars: 4, at: 9),
        ]
        var p = ProfileProjection(facts: facts)
        let summary = p.ingest(facts + facts)
        #expect(summary == IngestSummary(inserted: 0, duplicates: 18, conflicts: 0))
        let counters = try #require(p.profile(for: wa)?.counters)
        #expect(counters == ProfileCounters(interactions: 2, complaints: 1, informationRequests: 1, orders: 1, spend: 600_000, ratings: 1))
        #expect(p.profile(for: mail)?.counters.interactions == 1)
    }

    @Test("A timeline merges channels in time order once the handles are linked")
    func crossChannelTimeline() throws {
        let p = ProfileProjection(facts: [
            try message("m3", from: wa, on: .whatsApp, at: 30, summary: "sudah sampai?"),
            try message("m1", from: mail, on: .email, at: 10, summary: "pesanan saya"),
            try message("m2", from: wa, on: .phoneCall, at: 20, summary: "telepon"),
            try link("l", wa, mail, at: 15),
        ])
        let timeline = try #require(p.profile(for: mail)?.timeline)
        #expect(timeline.map(\.interaction.summary) == ["pesanan saya", "telepon", "sudah sampai?"])
        #expect(p.profile(for: wa)?.lastInteractionPerChannel.map(\.interaction.channel) == [.whatsApp, .email, .phoneCall])
    }

    @Test("An order correction wins by precedence and can move the order to another customer")
    func orderCorrections() throws {
        let other = try oms("C-200")
        let p = ProfileProjection(facts: [
            try order("o1", "ORD-1", customer: cust, items: [("A", 1, 100)], placedAt: 10, at: 10),
            try order("o2", "ORD-1", customer: cust, items: [("A", 3, 100)], placedAt: 10, at: 20),
        ])
        #expect(p.profile(for: cust)?.orders.map(\.record.subtotal) == [300])
        let moved = ProfileProjection(facts: [
            try order("o1", "ORD-1", customer: cust, placedAt: 10, at: 10),
            try order("o2", "ORD-1", customer: other, placedAt: 10, at: 20),
        ])
        #expect(moved.profile(for: cust)?.orders.isEmpty == true)
        #expect(moved.profile(for: other)?.orders.count == 1)
    }

    @Test("Tracking events that arrive before their order attach once it arrives")
    func trackingBeforeOrder() throws {
        var p = ProfileProjection(facts: [try track("t1", "ORD-1", .shippedFromChina, at: 50)])
        #expect(p.profiles().isEmpty)
        p.ingest([try order("o", "ORD-1", customer: cust, placedAt: 10)])
        #expect(p.profile(for: cust)?.orders.first?.status == .shippedFromChina)
    }

    @Test("Complaint steps arriving out of order are applied in time order; refused ones are listed")
    func complaintFold() throws {
        let p = ProfileProjection(facts: [
            try step("s3", "K-1", .decide(decision(refunding: 50_000)), by: .afterSales, at: 30),
            try step("s1", "K-1", .startReview, by: .afterSales, at: 10),
            try step("s2", "K-1", .close, by: .sales, at: 20), // illegal from inReview
            try openComplaint("c", "K-1", customer: wa, at: 5),
        ])
        let complaint = try #require(p.profile(for: wa)?.complaints.first)
        #expect(complaint.state == .decided)
        #expect(complaint.history.map(\.action.target) == [.inReview, .decided])
        #expect(complaint.ignoredTransitions == [
            IgnoredTransition(factID: try FactID("s2"), error: .illegalTransition(
                complaintID: try complaintNo("K-1"), from: .inReview, to: .closed, allowed: [.waitingOnSupplier, .decided, .rejected])),
        ])
        #expect(complaint.firstResponseAt == 10)
    }

    @Test("Two different facts sharing an id resolve the same way whichever arrives first")
    func conflictingDuplicates() throws {
        let a = try message("same", from: wa, on: .whatsApp, at: 1, summary: "A")
        let b = try message("same", from: wa, on: .whatsApp, at: 1, summary: "B")
        var first = ProfileProjection()
        #expect(first.ingest(a) == .inserted)
        #expect(first.ingest(b) == .conflict(replaced: false))
        var second = ProfileProjection()
        second.ingest(b)
        #expect(second.ingest(a) == .conflict(replaced: true))
        #expect(first.profiles() == second.profiles())
        #expect(first.profile(for: wa)?.timeline.map(\.interaction.summary) == ["A"])
    }

    @Test("A handle no fact names has no profile")
    func unknownHandle() throws {
        #expect(ProfileProjection().profile(for: wa) == nil)
    }

    @Test("An interaction refuses a handle its channel cannot carry")
    func channelHandleMismatch() throws {
        #expect(throws: InteractionError.handleKindNotAccepted(channel: .whatsApp, kind: .email, accepted: [.phone])) {
            try Interaction(channel: .whatsApp, direction: .inbound, handle: mail, intent: .other, summary: "")
        }
        #expect(InteractionError.handleKindNotAccepted(channel: .whatsApp, kind: .email, accepted: [.phone]).description
            == "A whatsApp contact cannot come from a email handle; use a handle of kind phone.")
        #expect(throws: Never.self) { try Interaction(channel: .letter, direction: .inbound, handle: mail, intent: .other, summary: "") }
    }

    @Test("A rating outside 1 to 5 stars is refused")
    func ratingRange() throws {
        #expect(throws: RatingError.starsOutOfRange(6)) { try Rating(handle: wa, stars: 6, comment: "") }
        #expect(throws: RatingError.starsOutOfRange(0)) { try Rating(handle: wa, stars: 0, comment: "") }
        #expect(RatingError.starsOutOfRange(0).description == "A rating of 0 stars is impossible; give 1 to 5 stars.")
    }

    @Test("The canonical description is stable and distinguishes different profiles")
    func canonicalDescription() throws {
        let facts = [try observe("a", wa, .name, "Budi \"BS\"\n", at: 1), try message("m", from: wa, on: .sms, at: 2)]
        let one = try #require(ProfileProjection(facts: facts).profile(for: wa))
        let two = try #require(ProfileProjection(facts: facts.reversed()).profile(for: wa))
        #expect(one.canonicalBytes == two.canonicalBytes)
        #expect(one.canonicalDescription.contains(#"field name "Budi \"BS\"" at=1"#))
        let changed = try #require(ProfileProjection(facts: facts + [try message("m2", from: wa, on: .sms, at: 3)]).profile(for: wa))
        #expect(changed.canonicalDescription != one.canonicalDescription)
    }
}
