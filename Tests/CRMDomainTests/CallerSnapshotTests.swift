import Testing
@testable import CRMDomain

@Suite("Caller snapshot and call routing")
struct CallerSnapshotTests {
    let wa: Handle, mail: Handle, cust: Handle
    let now = jan2024 + 200 * day

    init() throws {
        wa = try phone("0812-3456-7890")
        mail = try email("budi@tokojaya.id")
        cust = try oms("C-100")
    }

    func profile(extra: [Fact] = []) throws -> CustomerProfile {
        let facts: [Fact] = [
            try message("m0", from: mail, on: .email, intent: .informationRequest, at: jan2024),                  // old request
            try message("m1", from: wa, on: .whatsApp, intent: .informationRequest, at: now - 10 * day, summary: "harga?"),
            try message("m2", from: wa, on: .whatsApp, intent: .informationRequest, at: now - day, direction: .outbound, summary: "jawab"),
            try message("m3", from: wa, on: .phoneCall, intent: .complaint, at: now - 2 * day, summary: "barang pecah"),
            try link("l1", wa, mail, at: jan2024 + day),
            try link("l2", wa, cust, at: jan2024 + day),
            try observe("n", wa, .name, "Budi Santoso", at: jan2024 + day, source: .agent),
            try observe("co", mail, .company, "PT Toko Jaya", at: jan2024 + day),
            try order("o1", "ORD-1", customer: cust, items: [("A", 1, 400_000_000)], placedAt: now - 100 * day),
            try track("t1", "ORD-1", .delivered, at: now - 45 * day),
            try order("o2", "ORD-2", customer: cust, items: [("B", 1, 100_000_001)], placedAt: now - 50 * day, estimate: now - day),
            try openComplaint("c1", "K-1", customer: wa, order: "ORD-1", category: .broken, at: now - 2 * day),
            try openComplaint("c0", "K-0", customer: mail, order: "ORD-1", category: .outOfStock, at: jan2024 + 2 * day),
            try step("s1", "K-0", .reject(reason: "sudah dikirim"), by: .afterSales, at: jan2024 + 3 * day),
            try step("s2", "K-0", .informCustomer, by: .sales, at: jan2024 + 4 * day),
            try step("s3", "K-0", .close, by: .sales, at: jan2024 + 5 * day),
        ]
        return try #require(ProfileProjection(facts: facts + extra).profile(for: wa))
    }

    @Test("The snapshot shows name, tier, tenure, counts, open complaints, orders and last contacts")
    func snapshot() throws {
        let s = CallerSnapshot(profile: try profile(), now: now, problem: nil)
        #expect(s.name == "Budi Santoso")
        #expect(s.company == "PT Toko Jaya")
        #expect(s.tier == .diamond && s.isVVIP)
        #expect(s.customerSince == jan2024)
        #expect(s.tenureDays == 200)
        #expect(s.complaints == CountWindow(allTime: 2, recent: 1))
        #expect(s.informationRequests == CountWindow(allTime: 2, recent: 1))
        #expect(s.openComplaints.map(\.id.rawValue) == ["K-1"])
        #expect(s.openComplaints.first?.serviceLevel.firstResponse == .breached(elapsed: 2 * day, stillRunning: true))
        #expect(s.recentOrders.map(\.orderNumber.rawValue) == ["ORD-2", "ORD-1"])
        #expect(s.recentOrders.map(\.isOverdue) == [true, false])
        #expect(s.lastContacts.map(\.channel) == [.whatsApp, .email, .phoneCall])
        #expect(s.lastContacts.first?.summary == "jawab")
        #expect(s.routing == RoutingDecision(queue: .afterSales, priority: .vvip, reason: "Call about no stated problem, but an open complaint; Diamond (VVIP), no queue."))
    }

    @Test("Tenure counts from the earliest business time the facts state, never from when they were imported")
    func tenureFromBusinessTime() throws {
        let buyer = try oms("C-200"), phoneOfBuyer = try phone("0813-1111-2222")
        // Imported today: an order placed 300 days ago, a link and a name; the customer first wrote 200 days ago.
        let imported: [Fact] = [
            try order("o", "ORD-9", customer: buyer, placedAt: now - 300 * day, at: now),
            try link("l", buyer, phoneOfBuyer, at: now),
            try observe("n", buyer, .name, "Sari", at: now, source: .bulkImport),
        ]
        let first = try message("m", from: phoneOfBuyer, on: .whatsApp, intent: .order, at: now - 200 * day)
        for facts in [imported + [first], [first] + imported.reversed()] {
            let s = CallerSnapshot(profile: try #require(ProfileProjection(facts: facts).profile(for: buyer)), now: now, problem: nil)
            #expect(s.customerSince == now - 300 * day)
            #expect(s.tenureDays == 300)
        }
        // Known only from imported orders: tenure from the first order placed, not 0 days.
        let ordersOnly = CallerSnapshot(
            profile: try #require(ProfileProjection(facts: imported).profile(for: buyer)), now: now, problem: nil)
        #expect(ordersOnly.tenureDays == 300)
        // Known only from a name: no business time, so no tenure (rather than the moment of the import).
        let nameOnly = CallerSnapshot(
            profile: try #require(ProfileProjection(facts: [imported[2]]).profile(for: buyer)), now: now, problem: nil)
        #expect(nameOnly.customerSince == nil && nameOnly.tenureDays == 0)
    }

    @Test("Recent orders are limited, newest first")
    func recentOrderLimit() throws {
        let s = CallerSnapshot(profile: try profile(), now: now, problem: .orderStatus, recentOrderLimit: 1)
        #expect(s.recentOrders.map(\.orderNumber.rawValue) == ["ORD-2"])
        #expect(s.routing.queue == .orderTracking)
    }

    @Test("Calls route by problem type to a competent queue", arguments: [
        (ProblemType?.some(.complaint(.lostAtCustoms)), ServiceQueue.customsAndSupplier),
        (.complaint(.customerReturn), .returns),
        (.complaint(.broken), .afterSales),
        (.complaint(.outOfStock), .afterSales),
        (.complaint(nil), .afterSales),
        (.orderStatus, .orderTracking),
        (.newOrder, .sales),
        (.informationRequest, .general),
        (.other, .general),
        (nil, .general),
    ])
    func routingByProblem(problem: ProblemType?, queue: ServiceQueue) {
        #expect(CallRouting.route(problem: problem, tier: .silver, hasOpenComplaint: false).queue == queue)
    }

    @Test("A message routes as a call about the problem its intent states: complaints to After-Sales, orders to Sales, the rest to customer service", arguments: [
        (InteractionIntent.complaint, ServiceQueue.afterSales, Department.afterSales),
        (.order, .sales, .sales),
        (.informationRequest, .general, .customerService),
        (.feedback, .general, .customerService),
        (.other, .general, .customerService),
    ])
    func routingByIntent(intent: InteractionIntent, queue: ServiceQueue, department: Department) {
        #expect(CallRouting.queue(for: intent) == queue)
        #expect(CallRouting.queue(for: intent).department == department)
        #expect(CallRouting.route(problem: intent.problem, tier: .gold, hasOpenComplaint: true).queue == queue)
    }

    @Test("Each queue belongs to one department: order questions to Sales, complaints and returns to After-Sales")
    func queuesByDepartment() {
        let byDepartment = Dictionary(grouping: ServiceQueue.allCases, by: \.department)
        #expect(Set(byDepartment[.sales] ?? []) == [.sales, .orderTracking])
        #expect(Set(byDepartment[.afterSales] ?? []) == [.afterSales, .customsAndSupplier, .returns])
        #expect(Set(byDepartment[.customerService] ?? []) == [.general])
    }

    @Test("Diamond skips the queue, Gold goes ahead, Silver waits its turn")
    func routingPriority() {
        let priorities = LoyaltyTier.allCases.map { CallRouting.route(problem: .newOrder, tier: $0, hasOpenComplaint: false).priority }
        #expect(priorities == [.standard, .priority, .vvip])
        #expect(QueuePriority.standard < .priority && QueuePriority.priority < .vvip)
    }
}
