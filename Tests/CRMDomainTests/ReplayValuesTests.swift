import Testing
@testable import CRMDomain

/// What a replay of the watch streams rebuilds from stored facts and records.
@Suite("Values rebuilt for replays")
struct ReplayValuesTests {
    @Test("A service-level warning reads back from its id, and nothing else does")
    func warningFromID() throws {
        for warning in [
            ServiceLevelWarning(complaint: try ComplaintID("K-1"), clock: .firstResponse, dueAt: jan2024, breached: false),
            ServiceLevelWarning(complaint: try ComplaintID("CMP-7F3A"), clock: .resolution, dueAt: -5, breached: true),
        ] {
            #expect(ServiceLevelWarning(id: warning.id) == warning)
        }
        for bad in ["", "sla/K-1/resolution/5", "sla/K-1/lunch/5/near", "sla/K-1/resolution/x/near", "delay/K-1/resolution/5/near", "sla//resolution/5/past"] {
            #expect(ServiceLevelWarning(id: bad) == nil, "\(bad)")
        }
    }

    @Test("A complaint as of one of its steps is the opening with the steps up to that one")
    func complaintAsOfAStep() throws {
        let p = try phone("0812-3456-7890")
        let facts = [
            try openComplaint("o", "K-1", customer: p, category: .broken, at: jan2024),
            try step("s1", "K-1", .startReview, by: .afterSales, at: jan2024 + day),
            try step("s2", "K-1", .reject(reason: "no photos"), by: .afterSales, at: jan2024 + 2 * day),
            try step("s3", "K-1", .informCustomer, by: .sales, at: jan2024 + 3 * day),
        ]
        let complaint = try #require(ProfileProjection(facts: facts).profile(for: p)?.complaints.first)
        #expect(complaint.state == .customerInformed)
        #expect(complaint.asOf(step: nil)?.state == .opened && complaint.asOf(step: nil)?.history.isEmpty == true)
        let rejected = try #require(complaint.asOf(step: try FactID("s2")))
        #expect(rejected.state == .rejected && rejected.rejectionReason == "no photos" && rejected.resolvedAt == nil)
        #expect(rejected.history.map(\.factID?.rawValue) == ["s1", "s2"])
        #expect(complaint.asOf(step: try FactID("s3")) == complaint)
        #expect(complaint.asOf(step: try FactID("elsewhere")) == nil)
    }
}

@Suite("Past complaints")
struct PastComplaintTests {
    func opening(_ category: ComplaintCategory = .lostAtCustoms) throws -> ComplaintOpening {
        try ComplaintOpening(
            id: ComplaintID("K-9"), customer: phone("0812-3456-7890"), orderNumber: OrderNumber("SO-1"), category: category, summary: "",
            openedBy: actor(.supervisor, "rina"),
            items: [ClaimLine(sku: "MUG", name: "Mug", orderedQuantity: 10, receivedQuantity: 8, brokenQuantity: 0, paidUnitPrice: 45_000)])
    }

    @Test("A settled, informed and closed record becomes review, decision, informing and closing at its times")
    func stepsAtTheirTimes() throws {
        let refund = try Compensation.compute(claims: try opening().items)
        let past = try PastComplaint(
            opening: try opening(), openedAt: jan2024, outcome: (.decided(ComplaintDecision(refund: refund, note: "")), jan2024 + day),
            informedAt: jan2024 + 2 * day, closedAt: jan2024 + 3 * day, recordedBy: try actor(.supervisor, "rina"))
        #expect(past.steps.map(\.action.target) == [.inReview, .decided, .customerInformed, .closed])
        #expect(past.steps.map(\.at) == [jan2024 + day, jan2024 + day, jan2024 + 2 * day, jan2024 + 3 * day])
        #expect(past.complaint.state == .closed && past.complaint.decidedAt == jan2024 + day && refund.total == 90_000)
        #expect(past.complaint.decision?.refund.total == 90_000)
        let open = try PastComplaint(opening: try opening(), openedAt: jan2024, outcome: nil, informedAt: nil, closedAt: nil, recordedBy: try actor(.supervisor, "rina"))
        #expect(open.steps.isEmpty && open.complaint.state == .opened)
    }

    @Test("Records that cannot have happened are refused with what to fix")
    func refusals() throws {
        let rina = try actor(.supervisor, "rina")
        let rejected = (PastComplaint.Outcome.rejected(reason: "arrived"), jan2024 + day)
        #expect(throws: PastComplaintError.informedWithoutOutcome(try ComplaintID("K-9"))) {
            try PastComplaint(opening: try opening(), openedAt: jan2024, outcome: nil, informedAt: jan2024, closedAt: nil, recordedBy: rina)
        }
        #expect(throws: PastComplaintError.closedWithoutInforming(try ComplaintID("K-9"))) {
            try PastComplaint(opening: try opening(), openedAt: jan2024, outcome: rejected, informedAt: nil, closedAt: jan2024 + 2 * day, recordedBy: rina)
        }
        #expect(throws: PastComplaintError.outOfOrder(try ComplaintID("K-9"), earlier: "opened", later: "settled")) {
            try PastComplaint(opening: try opening(), openedAt: jan2024, outcome: (rejected.0, jan2024 - 1), informedAt: nil, closedAt: nil, recordedBy: rina)
        }
        // A decided return needs its quality check, which a record cannot carry.
        let returned = try opening(.customerReturn)
        let decision = ComplaintDecision(refund: try Compensation.compute(claims: returned.items), note: "")
        do {
            _ = try PastComplaint(opening: returned, openedAt: jan2024, outcome: (.decided(decision), jan2024 + day), informedAt: nil, closedAt: nil, recordedBy: rina)
            Issue.record("a decided return was accepted")
        } catch {
            #expect(error.code.hasPrefix("complaint."), "\(error)")
        }
    }
}
