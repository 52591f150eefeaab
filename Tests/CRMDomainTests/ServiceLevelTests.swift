import Testing
@testable import CRMDomain

@Suite("Service-level clocks")
struct ServiceLevelTests {
    let opened = jan2024

    func complaint(_ category: ComplaintCategory = .broken, steps: [(ComplaintAction, ActorRole, Int64)] = []) throws -> Complaint {
        var c = Complaint(opening: try opening("K-1", customer: try phone("0812-3456-7890"), category: category), openedAt: opened)
        for (action, role, at) in steps { try c.apply(transition(action, by: role, at: at)) }
        return c
    }

    @Test("A first response exactly at 24 hours is met; one millisecond later is a breach")
    func firstResponseBoundary() throws {
        let onTime = try complaint(steps: [(.startReview, .afterSales, opened + 24 * hour)])
        #expect(ServiceLevelStatus(complaint: onTime, now: opened + 100 * day).firstResponse == .met(elapsed: 24 * hour))
        let late = try complaint(steps: [(.startReview, .afterSales, opened + 24 * hour + 1)])
        #expect(ServiceLevelStatus(complaint: late, now: opened + 100 * day).firstResponse == .breached(elapsed: 24 * hour + 1, stillRunning: false))
    }

    @Test("Without a response the clock runs, and breaches once past the target")
    func runningClock() throws {
        let c = try complaint()
        #expect(ServiceLevelStatus(complaint: c, now: opened + 24 * hour).firstResponse == .running(elapsed: 24 * hour, remaining: 0))
        let status = ServiceLevelStatus(complaint: c, now: opened + 25 * hour)
        #expect(status.firstResponse == .breached(elapsed: 25 * hour, stillRunning: true))
        #expect(status.firstResponse.isBreached)
    }

    @Test("Default resolution targets: Out of Stock 3 days, Broken 7, Lost at Customs and Return 14")
    func defaults() {
        let p = ServiceLevelPolicy.standard
        #expect(p.firstResponse == 24 * hour)
        #expect(ComplaintCategory.allCases.map(p.resolutionTarget(for:)) == [3 * day, 14 * day, 7 * day, 14 * day])
        #expect(ServiceLevelPolicy(firstResponse: hour, resolutionTargets: [.broken: 2 * day, .outOfStock: day]).resolutionTarget(for: .lostAtCustoms) == 2 * day)
    }

    @Test("Resolution stops when the customer is told; a reopening restarts from the original opening")
    func resolution() throws {
        let steps: [(ComplaintAction, ActorRole, Int64)] = [
            (.startReview, .afterSales, opened + hour),
            (.decide(try decision(refunding: 1)), .afterSales, opened + 2 * day),
            (.informCustomer, .sales, opened + 3 * day),
        ]
        let met = try complaint(.outOfStock, steps: steps)
        #expect(ServiceLevelStatus(complaint: met, now: opened + 30 * day).resolution == .met(elapsed: 3 * day))
        let reopened = try complaint(.outOfStock, steps: steps + [(.reopen(reason: "salah hitung"), .sales, opened + 4 * day)])
        #expect(ServiceLevelStatus(complaint: reopened, now: opened + 5 * day).resolution == .breached(elapsed: 5 * day, stillRunning: true))
    }
}

@Suite("Loyalty tiers")
struct LoyaltyTests {
    @Test("Boundaries: below 100,000,000 Silver; 100,000,000 through 500,000,000 Gold; above Diamond", arguments: [
        (Int64(0), LoyaltyTier.silver), (99_999_999, .silver), (100_000_000, .gold), (100_000_001, .gold),
        (499_999_999, .gold), (500_000_000, .gold), (500_000_001, .diamond), (Int64.max, .diamond),
    ])
    func boundaries(value: Int64, tier: LoyaltyTier) {
        #expect(LoyaltyPolicy.standard.tier(forValue: value) == tier)
    }

    @Test("Only Diamond is VVIP; Gold and Diamond get priority service")
    func perks() {
        #expect(LoyaltyTier.allCases.map(\.isVVIP) == [false, false, true])
        #expect(LoyaltyTier.allCases.map(\.hasPriorityService) == [false, true, true])
        #expect(LoyaltyTier.silver < .gold && LoyaltyTier.gold < .diamond)
    }

    @Test("The rolling window counts orders placed in (now − 365 days, now], not cancelled ones")
    func window() throws {
        let now = jan2024 + 400 * day
        let c = try oms("C-1")
        func view(_ n: String, placed: Int64, value: Int64, cancelled: Bool = false) throws -> OrderView {
            let r = try orderRecord(n, customer: c, items: [("A", 1, value)], placedAt: placed)
            let events = cancelled ? [TrackingRecord(stage: .cancelled, at: placed, factID: try FactID("x\(n)"))] : []
            return OrderView(record: r, recordFactID: try FactID(n), tracking: events)
        }
        let orders = [
            try view("edge", placed: now - 365 * day, value: 1_000),          // exactly a year ago: out
            try view("in", placed: now - 365 * day + 1, value: 100_000_000),  // just inside
            try view("now", placed: now, value: 10),                          // at now: in
            try view("future", placed: now + day, value: 1_000_000_000),      // after now: out
            try view("gone", placed: now - day, value: 900_000_000, cancelled: true),
        ]
        #expect(LoyaltyPolicy.standard.qualifyingValue(of: orders, now: now) == 100_000_010)
        #expect(LoyaltyPolicy.standard.tier(for: orders, now: now) == .gold)
        #expect(LoyaltyPolicy.standard.tier(for: orders, now: now + 1) == .silver) // "in" has left the window
    }
}
