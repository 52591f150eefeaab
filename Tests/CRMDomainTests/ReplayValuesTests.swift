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
