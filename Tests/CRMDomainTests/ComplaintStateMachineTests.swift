import Testing
@testable import CRMDomain

@Suite("Complaint state machine")
struct ComplaintStateMachineTests {
    let id: ComplaintID
    let customer: Handle

    init() throws {
        id = try complaintNo("K-1")
        customer = try phone("0812-3456-7890")
    }

    func fresh(_ category: ComplaintCategory = .broken) throws -> Complaint {
        Complaint(opening: try opening("K-1", customer: customer, category: category), openedAt: 1_000)
    }

    @Test("The seed's flow runs from opened to closed with the right roles")
    func happyPath() throws {
        var c = try fresh()
        try c.apply(transition(.startReview, by: .afterSales, at: 2_000))
        try c.apply(transition(.askSupplier(note: "cek 1688"), by: .afterSales, at: 3_000))
        try c.apply(transition(.startReview, by: .chinaTeam, at: 4_000))
        try c.apply(transition(.decide(decision(refunding: 75_000)), by: .afterSales, at: 5_000))
        try c.apply(transition(.informCustomer, by: .sales, at: 6_000))
        try c.apply(transition(.close, by: .sales, at: 7_000))
        #expect(c.state == .closed)
        #expect(!c.isOpen)
        #expect(c.history.map(\.from) == [.opened, .inReview, .waitingOnSupplier, .inReview, .decided, .customerInformed])
        #expect(c.history.map(\.actor.role) == [.afterSales, .afterSales, .chinaTeam, .afterSales, .sales, .sales])
        #expect(c.decision?.refund.total == 75_000)
        #expect(c.decidedAt == 5_000)
        #expect(c.firstResponseAt == 2_000)
        #expect(c.resolvedAt == 6_000)
    }

    /// The intended table, written out independently of the implementation.
    static let expectedRoles: [ComplaintState: [ComplaintState: Set<ActorRole>]] = [
        .opened: [.inReview: [.afterSales, .supervisor], .rejected: [.afterSales, .supervisor]],
        .inReview: [.waitingOnSupplier: [.afterSales, .supervisor], .decided: [.afterSales, .supervisor], .rejected: [.afterSales, .supervisor]],
        .waitingOnSupplier: [.inReview: [.afterSales, .chinaTeam, .supervisor], .decided: [.afterSales, .supervisor], .rejected: [.afterSales, .supervisor]],
        .decided: [.customerInformed: [.sales, .supervisor]],
        .rejected: [.customerInformed: [.sales, .supervisor]],
        .customerInformed: [.closed: [.sales, .afterSales, .supervisor], .reopened: [.sales, .supervisor]],
        .closed: [.reopened: [.sales, .supervisor]],
        .reopened: [.inReview: [.afterSales, .supervisor]],
    ]

    @Test("Every (from, to) pair is legal exactly as the table says, for exactly the listed roles")
    func fullTable() {
        for from in ComplaintState.allCases {
            for to in ComplaintState.allCases {
                let expected = Self.expectedRoles[from]?[to] ?? []
                #expect(Set(ComplaintStateMachine.permittedRoles(from: from, to: to)) == expected, "\(from) → \(to)")
                #expect(ComplaintStateMachine.allowedTargets(from: from).contains(to) == !expected.isEmpty, "\(from) → \(to)")
            }
        }
        // the table gives the customer nothing; the loop above checked that for every pair
    }

    @Test("An illegal transition is refused with the current state and the allowed ones")
    func illegalTransition() throws {
        var c = try fresh()
        let expected = ComplaintTransitionError.illegalTransition(complaintID: id, from: .opened, to: .closed, allowed: [.inReview, .rejected])
        #expect(throws: expected) { try c.apply(transition(.close, by: .supervisor, at: 2_000)) }
        #expect(expected.description == "Complaint K-1 is opened and cannot become closed; from opened it can become: inReview, rejected.")
        #expect(c.state == .opened)
        #expect(c.history.isEmpty)
    }

    @Test("A role that may not make a transition is refused with the roles that may")
    func roleNotPermitted() throws {
        var c = try fresh()
        let expected = ComplaintTransitionError.roleNotPermitted(
            complaintID: id, role: .sales, from: .opened, to: .inReview, permitted: [.afterSales, .supervisor])
        #expect(throws: expected) { try c.apply(transition(.startReview, by: .sales, at: 2_000)) }
        #expect(expected.description == "A sales user cannot move complaint K-1 from opened to inReview; ask someone in one of these roles: afterSales, supervisor.")
        #expect(throws: ComplaintTransitionError.roleNotPermitted(
            complaintID: id, role: .customer, from: .opened, to: .rejected, permitted: [.afterSales, .supervisor])) {
            try c.apply(transition(.reject(reason: "no"), by: .customer, at: 2_000))
        }
    }

    @Test("A step dated before the last change is refused")
    func timeOrder() throws {
        var c = try fresh()
        try c.apply(transition(.startReview, by: .afterSales, at: 2_000))
        #expect(throws: ComplaintTransitionError.timeBeforeLastChange(complaintID: id, at: 1_500, lastChangedAt: 2_000)) {
            try c.apply(transition(.reject(reason: "duplicate"), by: .afterSales, at: 1_500))
        }
        #expect(throws: ComplaintTransitionError.timeBeforeLastChange(complaintID: id, at: 999, lastChangedAt: 1_000)) {
            var d = try fresh()
            try d.apply(transition(.startReview, by: .afterSales, at: 999))
        }
    }

    @Test("Rejecting or reopening needs a reason")
    func reasons() throws {
        var c = try fresh()
        #expect(throws: ComplaintTransitionError.reasonRequired(complaintID: id, to: .rejected)) {
            try c.apply(transition(.reject(reason: "  "), by: .afterSales, at: 2_000))
        }
        try c.apply(transition(.reject(reason: "foto tidak sesuai"), by: .afterSales, at: 2_000))
        #expect(c.rejectionReason == "foto tidak sesuai")
        try c.apply(transition(.informCustomer, by: .sales, at: 3_000))
        #expect(throws: ComplaintTransitionError.reasonRequired(complaintID: id, to: .reopened)) {
            try c.apply(transition(.reopen(reason: ""), by: .sales, at: 4_000))
        }
    }

    @Test("A Return decision needs the return record, for the complaint's own order")
    func returnRecord() throws {
        var c = try fresh(.customerReturn)
        try c.apply(transition(.startReview, by: .afterSales, at: 2_000))
        #expect(throws: ComplaintTransitionError.returnRecordRequired(complaintID: id)) {
            try c.apply(transition(.decide(decision(refunding: 10)), by: .afterSales, at: 3_000))
        }
        let qc = QualityCheck(outcome: .accepted, inspectedBy: "qc", inspectedAt: 2_500, notes: "")
        let wrong = try ReturnRecord(orderNumber: orderNo("ORD-2"), items: [ReturnedItem(sku: "A", quantity: 1, paidUnitPrice: 10)], qualityCheck: qc, localShippingCost: 0)
        #expect(throws: ComplaintTransitionError.returnForOtherOrder(complaintID: id, expected: try orderNo("ORD-1"), got: try orderNo("ORD-2"))) {
            try c.apply(transition(.decide(ComplaintDecision(refund: Compensation.compute(claims: [], returnRecord: wrong), note: "")), by: .afterSales, at: 3_000))
        }
        let right = try ReturnRecord(orderNumber: orderNo("ORD-1"), items: [ReturnedItem(sku: "A", quantity: 1, paidUnitPrice: 10)], qualityCheck: qc, localShippingCost: 5)
        try c.apply(transition(.decide(ComplaintDecision(refund: Compensation.compute(claims: [], returnRecord: right), note: "")), by: .afterSales, at: 3_000))
        #expect(c.decision?.refund.total == 15)
    }

    @Test("Reopening voids the decision and the resolution but keeps the first response")
    func reopen() throws {
        var c = try fresh()
        try c.apply(transition(.startReview, by: .afterSales, at: 2_000))
        try c.apply(transition(.decide(decision(refunding: 10)), by: .afterSales, at: 3_000))
        try c.apply(transition(.informCustomer, by: .sales, at: 4_000))
        try c.apply(transition(.reopen(reason: "jumlah salah"), by: .sales, at: 5_000))
        #expect(c.state == .reopened)
        #expect(c.decision == nil && c.decidedAt == nil && c.resolvedAt == nil)
        #expect(c.firstResponseAt == 2_000)
        #expect(c.allowedNextStates == [.inReview])
        #expect(c.isOpen)
    }

    @Test("Only Sales or a supervisor may open a complaint")
    func openingRoles() throws {
        #expect(throws: ComplaintOpeningError.roleCannotOpen(role: .afterSales, allowed: [.sales, .supervisor])) {
            try ComplaintOpening(id: id, customer: customer, orderNumber: orderNo("ORD-1"), category: .broken, summary: "", openedBy: actor(.afterSales))
        }
        #expect(ComplaintOpeningError.roleCannotOpen(role: .customer, allowed: [.sales, .supervisor]).description
            == "A customer user cannot open a complaint; complaints are opened by: sales, supervisor.")
    }

    @Test("Every transition error has its own code")
    func codes() throws {
        let n = try orderNo("O")
        let errors: [ComplaintTransitionError] = [
            .illegalTransition(complaintID: id, from: .opened, to: .closed, allowed: []),
            .roleNotPermitted(complaintID: id, role: .sales, from: .opened, to: .inReview, permitted: []),
            .timeBeforeLastChange(complaintID: id, at: 0, lastChangedAt: 1), .reasonRequired(complaintID: id, to: .rejected),
            .returnRecordRequired(complaintID: id), .returnForOtherOrder(complaintID: id, expected: n, got: n),
        ]
        #expect(Set(errors.map(\.code)).count == errors.count)
        #expect(ComplaintCategory.allCases.map(\.displayName) == ["Out of Stock", "Lost at Customs", "Broken", "Return"])
    }
}
