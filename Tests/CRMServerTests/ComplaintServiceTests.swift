import CRMMessages
import CRMRPC
import CRMServerTesting
import CRMWire
import Testing

@Suite("ComplaintService")
struct ComplaintServiceTests {
    func transition(_ h: TestServer, _ id: String, _ external: String, to state: CRMMessages.ComplaintState, as principal: TestCaller, note: String = "", decision: ComplaintDecisionInput? = nil) async throws -> TransitionComplaintResponse {
        try await h.call(
            CRMMessages.ComplaintService.transitionComplaint,
            TransitionComplaintRequest(key: key(external, adapter: "desk"), complaintID: id, toState: state, note: note, decision: decision),
            as: principal)
    }

    static let missingThree = ComplaintDecisionInput(
        resolution: .refund,
        confirmedItems: [AffectedItem(sku: "SKU-1", name: "Lampu LED", quantityOrdered: 10, quantityReceived: 7, paidUnitPriceRupiah: 45_000)],
        rationale: "3 units lost at customs")

    @Test("a complaint is opened once, reviewed, decided and quoted")
    func happyPath() async throws {
        try await withTestServer { h in
            let customer = try await h.seedOrder()
            let opened = try await h.openComplaint("c-1")
            #expect(opened.state == .opened)
            #expect(opened.customerID == customer)
            #expect(opened.allowedNextStates == [.inReview, .rejected])
            let again = try await h.call(
                CRMMessages.ComplaintService.openComplaint,
                OpenComplaintRequest(key: key("c-1", adapter: "sales-tool"), customer: byHandle(phone("0812-3456-7890")), orderNumber: "ORD-1", category: .lostAtCustoms, summary: "3 dari 10 lampu tidak sampai"),
                as: TestCaller.sales)
            #expect(again.outcome == .duplicate)
            #expect(again.complaint?.complaintID == opened.complaintID)

            let review = try await transition(h, opened.complaintID, "t-1", to: .inReview, as: TestCaller.afterSales)
            #expect(review.outcome == .accepted)
            #expect(review.transition?.fromState == .opened && review.transition?.toState == .inReview)
            let retried = try await transition(h, opened.complaintID, "t-1", to: .inReview, as: TestCaller.afterSales)
            #expect(retried.outcome == .duplicate)
            let decided = try await transition(h, opened.complaintID, "t-2", to: .decided, as: TestCaller.afterSales, decision: Self.missingThree)
            #expect(decided.complaint?.state == .decided)
            #expect(decided.complaint?.decision?.compensation?.totalRupiah == 135_000)
            let quote = try await h.call(CRMMessages.ComplaintService.quoteCompensation, QuoteCompensationRequest(subject: .complaintID(opened.complaintID)))
            #expect(quote.quote?.totalRupiah == 135_000)
            #expect(quote.quote?.lines.first?.kind == .missingQuantity)

            let listed = try await h.call(CRMMessages.ComplaintService.listComplaints, ListComplaintsRequest(states: [.decided]))
            #expect(listed.complaints.map(\.complaintID) == [opened.complaintID])
            #expect(listed.complaints.first?.compensationTotalRupiah == 135_000)
            let audit = try await h.store.auditEntries(subject: opened.complaintID, after: nil, limit: 10)
            #expect(audit.map(\.entry.action) == ["OpenComplaint", "TransitionComplaint", "TransitionComplaint"])
            #expect(audit.first?.entry.actor == "agent:dewi")
        }
    }

    @Test("an illegal transition names the current state and the allowed ones")
    func illegalTransition() async throws {
        try await withTestServer { h in
            try await h.seedOrder()
            let opened = try await h.openComplaint("c-2")
            let message = try await h.expectFailure(
                .failedPrecondition, CRMMessages.ComplaintService.transitionComplaint,
                TransitionComplaintRequest(key: key("t-9"), complaintID: opened.complaintID, toState: .closed), as: TestCaller.afterSales)
            #expect(message == "complaint \(opened.complaintID) is OPENED and cannot become CLOSED; from OPENED it can become: IN_REVIEW, REJECTED")
            let role = try await h.expectFailure(
                .permissionDenied, CRMMessages.ComplaintService.transitionComplaint,
                TransitionComplaintRequest(key: key("t-10"), complaintID: opened.complaintID, toState: .inReview), as: TestCaller.sales)
            #expect(role.contains("afterSales"))
            let warehouse = try await h.expectFailure(
                .permissionDenied, CRMMessages.ComplaintService.transitionComplaint,
                TransitionComplaintRequest(key: key("t-11"), complaintID: opened.complaintID, toState: .inReview), as: TestCaller.warehouse)
            #expect(warehouse.contains("warehouse"))
            let expected = try await h.expectFailure(
                .failedPrecondition, CRMMessages.ComplaintService.transitionComplaint,
                TransitionComplaintRequest(key: key("t-12"), complaintID: opened.complaintID, toState: .inReview, expectedState: .decided), as: TestCaller.afterSales)
            #expect(expected.contains("not the expected DECIDED"))
            let noReason = try await h.expectFailure(
                .invalidArgument, CRMMessages.ComplaintService.transitionComplaint,
                TransitionComplaintRequest(key: key("t-13"), complaintID: opened.complaintID, toState: .rejected), as: TestCaller.afterSales)
            #expect(noReason.hasPrefix("note:"))
        }
    }

    @Test("items given at opening are kept, quoted, and decide the refund when none are confirmed; goodwill lines add to it")
    func itemsAtOpeningAndGoodwill() async throws {
        try await withTestServer { h in
            try await h.seedOrder()
            let item = AffectedItem(sku: "SKU-1", name: "Lampu LED", quantityOrdered: 10, quantityReceived: 7, paidUnitPriceRupiah: 45_000)
            let opened = try #require(try await h.call(
                CRMMessages.ComplaintService.openComplaint,
                OpenComplaintRequest(
                    key: key("g-1", adapter: "sales-tool"), customer: byHandle(phone("0812-3456-7890")), orderNumber: "ORD-1",
                    category: .lostAtCustoms, summary: "3 dari 10 lampu tidak sampai", items: [item]),
                as: TestCaller.sales).complaint)
            #expect(opened.items.map(\.sku) == ["SKU-1"] && opened.items.first?.quantityReceived == 7)
            let before = try await h.call(CRMMessages.ComplaintService.quoteCompensation, QuoteCompensationRequest(subject: .complaintID(opened.complaintID)))
            #expect(before.quote?.totalRupiah == 135_000)
            _ = try await transition(h, opened.complaintID, "g-2", to: .inReview, as: TestCaller.afterSales)
            let bad = ComplaintDecisionInput(resolution: .refund, adjustments: [CompensationLine(kind: .goodwill, amountRupiah: 10_000)], rationale: "x")
            let message = try await h.expectFailure(
                .invalidArgument, CRMMessages.ComplaintService.transitionComplaint,
                TransitionComplaintRequest(key: key("g-3", adapter: "desk"), complaintID: opened.complaintID, toState: .decided, decision: bad), as: TestCaller.afterSales)
            #expect(message.hasPrefix("decision.adjustments[0]:"))
            let decision = ComplaintDecisionInput(
                resolution: .refund, adjustments: [CompensationLine(kind: .goodwill, amountRupiah: 25_000, explanation: "maaf atas keterlambatan")],
                rationale: "lost at customs")
            let decided = try await transition(h, opened.complaintID, "g-4", to: .decided, as: TestCaller.afterSales, decision: decision)
            let compensation = try #require(decided.complaint?.decision?.compensation)
            #expect(compensation.totalRupiah == 160_000)
            #expect(compensation.lines.map(\.kind) == [.missingQuantity, .goodwill])
            #expect(compensation.lines.last?.explanation.contains("maaf atas keterlambatan") == true)
        }
    }

    @Test("opening validates every field")
    func openValidation() async throws {
        try await withTestServer { h in
            try await h.seedOrder()
            var request = OpenComplaintRequest(key: key("v-1"), customer: byHandle(phone("0812-3456-7890")), orderNumber: "ORD-1", category: .return, summary: "rusak")
            #expect(try await h.expectFailure(.invalidArgument, CRMMessages.ComplaintService.openComplaint, request, as: TestCaller.sales).hasPrefix("return_reason:"))
            request.category = .broken
            request.items = [AffectedItem(sku: "SKU-1", quantityOrdered: 1, quantityReceived: 2)]
            #expect(try await h.expectFailure(.invalidArgument, CRMMessages.ComplaintService.openComplaint, request, as: TestCaller.sales).hasPrefix("items[0]:"))
            request.items = [AffectedItem(sku: "SKU-1", quantityOrdered: 1), AffectedItem(sku: "SKU-1", quantityOrdered: 2)]
            #expect(try await h.expectFailure(.invalidArgument, CRMMessages.ComplaintService.openComplaint, request, as: TestCaller.sales).hasPrefix("items:"))
            request.items = []
            request.summary = "  "
            #expect(try await h.expectFailure(.invalidArgument, CRMMessages.ComplaintService.openComplaint, request, as: TestCaller.sales).hasPrefix("summary:"))
            request.summary = "rusak"
            request.orderNumber = "ORD-404"
            try await h.expectFailure(.notFound, CRMMessages.ComplaintService.openComplaint, request, as: TestCaller.sales)
        }
    }

    @Test("a customer sees only their own complaints and notices, without learning whether others exist")
    func customerScoping() async throws {
        try await withTestServer { h in
            let mine = try await h.seedOrder()
            try await h.seedOrder("ORD-2", customer: omsID("OMS-2"), contacts: [phone("0813-1111-2222")])
            let own = try await h.openComplaint("s-1")
            let other = try await h.openComplaint("s-2", order: "ORD-2", customer: phone("0813-1111-2222"))
            let me = TestCaller.customer(mine)
            let got = try await h.call(CRMMessages.ComplaintService.getComplaint, GetComplaintRequest(complaintID: own.complaintID), as: me)
            #expect(got.complaint?.complaintID == own.complaintID)
            let foreign = try await h.expectFailure(.permissionDenied, CRMMessages.ComplaintService.getComplaint, GetComplaintRequest(complaintID: other.complaintID), as: me)
            let missing = try await h.expectFailure(.permissionDenied, CRMMessages.ComplaintService.getComplaint, GetComplaintRequest(complaintID: "cmp_doesnotexist"), as: me)
            #expect(foreign == missing)
            let listed = try await h.call(CRMMessages.ComplaintService.listComplaints, ListComplaintsRequest(), as: me)
            #expect(listed.complaints.map(\.complaintID) == [own.complaintID])
            try await h.expectFailure(
                .permissionDenied, CRMMessages.ComplaintService.listComplaints, ListComplaintsRequest(customer: byHandle(phone("0813-1111-2222"))), as: me)
            try await h.expectFailure(
                .permissionDenied, CRMMessages.ComplaintService.transitionComplaint,
                TransitionComplaintRequest(key: key("t-x"), complaintID: own.complaintID, toState: .closed), as: me)

            // Decide and inform both; the customer's notice stream replays only their own complaint's notices.
            for (c, n) in [(own, "a"), (other, "b")] {
                _ = try await transition(h, c.complaintID, "\(n)-1", to: .inReview, as: TestCaller.afterSales)
                _ = try await transition(h, c.complaintID, "\(n)-2", to: .decided, as: TestCaller.afterSales, decision: Self.missingThree)
                _ = try await transition(h, c.complaintID, "\(n)-3", to: .customerInformed, as: TestCaller.sales)
            }
            let stream = try await h.rpc.serverStreaming(
                CRMMessages.ComplaintService.watchMyNotices, WatchMyNoticesRequest(sinceMs: 1), options: try await h.options(me))
            var iterator = stream.makeAsyncIterator()
            let first = try await iterator.next()
            let second = try await iterator.next()
            #expect(first?.notice?.subject == .complaintID(own.complaintID))
            #expect(second?.notice?.subject == .complaintID(own.complaintID))
            #expect(second?.notice?.kind == .complaintUpdated)
            stream.cancel()
        }
    }

    @Test("a return is decided from the warehouse's quality check")
    func returnWithQualityCheck() async throws {
        try await withTestServer { h in
            try await h.seedOrder()
            let opened = try await h.openComplaint("r-1", category: .return)
            _ = try await transition(h, opened.complaintID, "r-t1", to: .inReview, as: TestCaller.afterSales)
            let early = try await h.expectFailure(
                .failedPrecondition, CRMMessages.ComplaintService.transitionComplaint,
                TransitionComplaintRequest(key: key("r-t2"), complaintID: opened.complaintID, toState: .decided, decision: ComplaintDecisionInput(resolution: .refund)),
                as: TestCaller.afterSales)
            #expect(early.contains("quality check"))
            let check = ReturnQualityCheck(
                key: key("qc-1", adapter: "warehouse"), complaintID: opened.complaintID, orderNumber: "ORD-1",
                items: [QualityCheckItem(sku: "SKU-1", quantityReturned: 2, quantityAccepted: 2, finding: "pecah")],
                verdict: .passed, localShippingRupiah: 20_000, receivedMs: TestServer.now - 1_000)
            let recorded = try await h.call(CRMMessages.ComplaintService.recordReturnQualityCheck, RecordReturnQualityCheckRequest(check: check), as: TestCaller.warehouse)
            #expect(recorded.outcome == .accepted)
            #expect(recorded.complaint?.qualityCheck?.verdict == .passed)
            let duplicate = try await h.call(CRMMessages.ComplaintService.recordReturnQualityCheck, RecordReturnQualityCheckRequest(check: check), as: TestCaller.warehouse)
            #expect(duplicate.outcome == .duplicate)
            let decided = try await transition(h, opened.complaintID, "r-t3", to: .decided, as: TestCaller.afterSales, decision: ComplaintDecisionInput(resolution: .refund, rationale: "accepted"))
            let expected: Int64 = 110_000  // 2 accepted units × Rp 45.000 + Rp 20.000 shipping
            #expect(decided.complaint?.decision?.compensation?.totalRupiah == expected)
        }
    }

    @Test("complaint changes are streamed to watchers")
    func watchComplaints() async throws {
        try await withTestServer { h in
            try await h.seedOrder()
            let opened = try await h.openComplaint("w-1")
            _ = try await transition(h, opened.complaintID, "w-t1", to: .inReview, as: TestCaller.afterSales)
            let stream = try await h.rpc.serverStreaming(
                CRMMessages.ComplaintService.watchComplaints, WatchComplaintsRequest(states: [.inReview], sinceMs: 1),
                options: try await h.options(.supervisor))
            var iterator = stream.makeAsyncIterator()
            let change = try await iterator.next()
            #expect(change?.kind == .transitioned)
            #expect(change?.complaint?.complaintID == opened.complaintID)
            #expect(change?.transition?.toState == .inReview)
            stream.cancel()
        }
    }
}
