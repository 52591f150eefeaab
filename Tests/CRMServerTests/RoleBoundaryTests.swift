import CRMMessages
import CRMRPC
import CRMServer
import CRMServerTesting
import CRMWire
import Testing

/// Every class of caller against a representative method of every class of method, on the real server with
/// real tokens: the exact status each gets.
@Suite("Role boundaries")
struct RoleBoundaryTests {
    /// The callers, in the order of each row's statuses.
    static let callers: [TestCaller] = [.anonymous, .adapter, .sales, .afterSales, .chinaTeam, .warehouse, .supervisor, .customer(ownPlaceholder)]
    static let ownPlaceholder = "own"

    /// OK, UNAUTHENTICATED, PERMISSION_DENIED.
    static let K = RPCStatus.Code.ok, U = RPCStatus.Code.unauthenticated, D = RPCStatus.Code.permissionDenied

    /// One row of the matrix: a method, the statuses of ``callers`` in order, and the callers the access policy
    /// lets through but the service refuses (the complaint workflow's roles, a customer's scope).
    struct Row: Sendable {
        let name: String
        let path: String
        let expected: [RPCStatus.Code]
        var serviceDenies: Set<Int> = []
        /// Calls the method as the caller (the caller's index makes idempotency keys and fixtures unique).
        let call: @Sendable (TestServer, TestCaller, Int, Fixture) async throws -> RPCStatus
    }

    /// What the rows' requests refer to.
    struct Fixture: Sendable {
        let own: String
        let other: String
        let ownComplaint: String
        let otherComplaint: String
        let returnComplaint: String
    }

    static func unary<Request, Response>(_ method: WireMethod<Request, Response>, _ request: @escaping @Sendable (Int, Fixture) -> Request) -> @Sendable (TestServer, TestCaller, Int, Fixture) async throws -> RPCStatus {
        { h, who, i, f in try await h.status(method, request(i, f), as: who) }
    }

    static func watch<Request, Response>(_ method: WireMethod<Request, Response>, _ request: Request) -> @Sendable (TestServer, TestCaller, Int, Fixture) async throws -> RPCStatus {
        { h, who, _, _ in
            var options = try await h.options(who)
            options.timeout = .seconds(10)
            do {
                // Replay makes an allowed watch answer at once.
                let stream = try await h.rpc.serverStreaming(method, request, options: options)
                var iterator = stream.makeAsyncIterator()
                _ = try await iterator.next()
                stream.cancel()
                return .ok
            } catch let status as RPCStatus {
                return status
            }
        }
    }

    static let period = CRMMessages.TimeRange(fromMs: 1_714_496_400_000, toMs: 1_719_766_800_000)

    static let rows: [Row] = [
        Row(name: "push interaction", path: InteractionService.pushInteraction.info.path, expected: [U, K, K, K, K, K, K, D],
            call: unary(InteractionService.pushInteraction) { i, _ in PushInteractionRequest(interaction: interaction("rb-\(i)")) }),
        Row(name: "read profile", path: ProfileService.getProfile.info.path, expected: [U, D, K, K, K, K, K, D],
            call: unary(ProfileService.getProfile) { _, f in GetProfileRequest(customer: byID(f.own)) }),
        Row(name: "read caller snapshot", path: ProfileService.getCallerSnapshot.info.path, expected: [U, D, K, K, K, K, K, D],
            call: unary(ProfileService.getCallerSnapshot) { _, _ in GetCallerSnapshotRequest(customer: byHandle(phone("0812-3456-7890"))) }),
        Row(name: "read timeline", path: InteractionService.getTimeline.info.path, expected: [U, D, K, K, K, K, K, D],
            call: unary(InteractionService.getTimeline) { _, f in GetTimelineRequest(customer: byID(f.own)) }),
        Row(name: "order write", path: OrderService.upsertOrder.info.path, expected: [U, K, K, K, K, K, K, D],
            call: unary(OrderService.upsertOrder) { i, _ in UpsertOrderRequest(key: key("rb-order-\(i)", adapter: "oms"), order: order("ORD-RB-\(i)")) }),
        Row(name: "order read", path: OrderService.getOrder.info.path, expected: [U, D, K, K, K, K, K, D],
            call: unary(OrderService.getOrder) { _, _ in GetOrderRequest(orderNumber: "ORD-1") }),
        // The workflow: complaints are opened by Sales and supervisors.
        Row(name: "complaint open", path: ComplaintService.openComplaint.info.path, expected: [U, D, K, D, D, D, K, D], serviceDenies: [3, 4, 5],
            call: unary(ComplaintService.openComplaint) { i, _ in
                OpenComplaintRequest(key: key("rb-open-\(i)"), customer: byHandle(phone("0812-3456-7890")), orderNumber: "ORD-1", category: .broken, summary: "pecah")
            }),
        // The workflow: review is started by After-Sales and supervisors; the warehouse takes no part.
        Row(name: "complaint transition", path: ComplaintService.transitionComplaint.info.path, expected: [U, D, D, K, D, D, K, D], serviceDenies: [2, 4, 5],
            call: { h, who, i, _ in
                let fresh = try await h.openComplaint("rb-fresh-\(i)")
                return try await h.status(
                    ComplaintService.transitionComplaint,
                    TransitionComplaintRequest(key: key("rb-step-\(i)"), complaintID: fresh.complaintID, toState: .inReview), as: who)
            }),
        Row(name: "complaint read, own", path: ComplaintService.getComplaint.info.path, expected: [U, D, K, K, K, K, K, K],
            call: unary(ComplaintService.getComplaint) { _, f in GetComplaintRequest(complaintID: f.ownComplaint) }),
        // Customer scoping: another customer's complaint is refused as if it did not exist.
        Row(name: "complaint read, another customer's", path: ComplaintService.getComplaint.info.path, expected: [U, D, K, K, K, K, K, D], serviceDenies: [7],
            call: unary(ComplaintService.getComplaint) { _, f in GetComplaintRequest(complaintID: f.otherComplaint) }),
        Row(name: "quote", path: ComplaintService.quoteCompensation.info.path, expected: [U, D, K, K, K, K, K, D],
            call: unary(ComplaintService.quoteCompensation) { _, _ in
                QuoteCompensationRequest(subject: .whatIf(CompensationQuoteInput(
                    category: .lostAtCustoms,
                    items: [AffectedItem(sku: "SKU-1", name: "Lampu LED", quantityOrdered: 10, quantityReceived: 7, paidUnitPriceRupiah: 45_000)])))
            }),
        Row(name: "return quality check", path: ComplaintService.recordReturnQualityCheck.info.path, expected: [U, D, K, K, K, K, K, D],
            call: unary(ComplaintService.recordReturnQualityCheck) { i, f in
                RecordReturnQualityCheckRequest(check: ReturnQualityCheck(
                    key: key("rb-qc-\(i)", adapter: "warehouse"), complaintID: f.returnComplaint, orderNumber: "ORD-1",
                    items: [QualityCheckItem(sku: "SKU-1", quantityReturned: 1, quantityAccepted: 1)], verdict: .passed,
                    receivedMs: TestServer.now - 1_000))
            }),
        Row(name: "loyalty", path: LoyaltyService.getLoyaltyStatus.info.path, expected: [U, D, K, K, K, K, K, K],
            call: unary(LoyaltyService.getLoyaltyStatus) { _, f in GetLoyaltyStatusRequest(customer: byID(f.own)) }),
        Row(name: "rating submit", path: FeedbackService.submitRating.info.path, expected: [U, D, K, K, K, K, K, K],
            call: unary(FeedbackService.submitRating) { i, f in
                SubmitRatingRequest(key: key("rb-rating-\(i)"), customer: byID(f.own), stars: 4, ratedMs: TestServer.now - 1_000)
            }),
        Row(name: "reports", path: ReportService.getRefundRecap.info.path, expected: [U, D, D, D, D, D, K, D],
            call: unary(ReportService.getRefundRecap) { _, _ in GetRefundRecapRequest(period: period, granularity: .month) }),
        Row(name: "watch interactions", path: InteractionService.watchInteractions.info.path, expected: [U, D, K, K, K, K, K, D],
            call: watch(InteractionService.watchInteractions, WatchInteractionsRequest(sinceMs: 1))),
        Row(name: "watch notices", path: ComplaintService.watchMyNotices.info.path, expected: [U, D, K, K, K, K, K, K],
            call: watch(ComplaintService.watchMyNotices, WatchMyNoticesRequest(sinceMs: 1))),
        Row(name: "health", path: Health.check.info.path, expected: [K, K, K, K, K, K, K, K],
            call: unary(Health.check) { _, _ in HealthCheckRequest() }),
    ]

    /// The status the access policy alone gives `caller` on `path`.
    static func policyStatus(_ path: String, _ caller: TestCaller) -> RPCStatus.Code {
        guard let rule = AccessPolicy.rule(for: path) else { return D }
        if case .open = rule { return K }
        guard let grant = caller.grant else { return U }
        return rule.allows(grant.role) ? K : D
    }

    @Test("the matrix agrees with AccessPolicy's table, apart from the refusals of the complaint workflow and customer scoping")
    func matrixFollowsThePolicy() {
        for row in Self.rows {
            #expect(row.expected.count == Self.callers.count, "\(row.name)")
            for (i, caller) in Self.callers.enumerated() {
                let policy = Self.policyStatus(row.path, caller)
                if row.serviceDenies.contains(i) {
                    #expect(policy == Self.K && row.expected[i] == Self.D, "\(row.name) as \(caller)")
                } else {
                    #expect(policy == row.expected[i], "\(row.name) as \(caller): the policy says \(policy.name)")
                }
            }
        }
    }

    @Test("each caller gets exactly the expected status on each class of method")
    func matrix() async throws {
        try await withTestServer { h in
            let own = try await h.seedOrder()
            let other = try await h.seedOrder("ORD-2", customer: omsID("OMS-2"), contacts: [phone("0813-1111-2222")])
            _ = try await h.call(InteractionService.pushInteraction, PushInteractionRequest(interaction: interaction("rb-seed")), as: .adapter)
            let ownComplaint = try await h.openComplaint("rb-own")
            let otherComplaint = try await h.openComplaint("rb-other", order: "ORD-2", customer: phone("0813-1111-2222"))
            let returnComplaint = try await h.openComplaint("rb-return", category: .return)
            // A delay notice for the own customer, so their notice stream has something to replay.
            h.clock.advance(by: 31 * 86_400_000)
            #expect(try await h.sweeps.sendDelayNotices().count == 2)
            let fixture = Fixture(
                own: own, other: other, ownComplaint: ownComplaint.complaintID, otherComplaint: otherComplaint.complaintID,
                returnComplaint: returnComplaint.complaintID)
            for row in Self.rows {
                for (i, caller) in Self.callers.enumerated() {
                    let who: TestCaller = caller == .customer(Self.ownPlaceholder) ? .customer(own) : caller
                    let status = try await row.call(h, who, i, fixture)
                    #expect(status.code == row.expected[i], "\(row.name) as \(caller): \(status)")
                }
            }
        }
    }

    @Test("another customer's complaint is refused with the same message as one that does not exist")
    func noHintOfExistence() async throws {
        try await withTestServer { h in
            let own = try await h.seedOrder()
            try await h.seedOrder("ORD-2", customer: omsID("OMS-2"), contacts: [phone("0813-1111-2222")])
            let other = try await h.openComplaint("nh-1", order: "ORD-2", customer: phone("0813-1111-2222"))
            let foreign = try await h.expectFailure(
                .permissionDenied, ComplaintService.getComplaint, GetComplaintRequest(complaintID: other.complaintID), as: .customer(own))
            let missing = try await h.expectFailure(
                .permissionDenied, ComplaintService.getComplaint, GetComplaintRequest(complaintID: "cmp_0000000000000000"), as: .customer(own))
            #expect(!foreign.isEmpty)
            #expect(foreign == missing)
            #expect(!foreign.contains(other.complaintID))
        }
    }
}
