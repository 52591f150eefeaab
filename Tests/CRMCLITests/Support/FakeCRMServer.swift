import CRMMessages
import CRMRPC
import CRMTLS
import CRMTestSupport
import CRMWire
import Foundation
import NIOCore
import Synchronization

/// A real crm/1 server over TLS on loopback with canned CRM answers, so the CLI can be run end to
/// end (TLS, token metadata, status codes, streams) before the real services exist. It checks the
/// token like the real server (`authorization: Bearer test-token`) and records what it was sent.
final class FakeCRMServer: Sendable {
    static let token = "test-token"

    let server: RPCServer
    let certificates: TestCertificates
    let recorder: Recorder

    /// What the server was sent, by method name.
    final class Recorder: Sendable {
        private let calls = Mutex<[String: [any Sendable]]>([:])

        func record(_ method: String, _ request: any Sendable) {
            calls.withLock { $0[method, default: []].append(request) }
        }

        func last<T>(_ method: String, as: T.Type) -> T? {
            calls.withLock { $0[method]?.last as? T }
        }
    }

    init() throws {
        certificates = try TestCertificates.shared()
        recorder = Recorder()
        let tls = TLSConfiguration.server(
            certificateChainFile: certificates.serverCertificate, privateKeyFile: certificates.serverKey)
        server = try RPCServer(
            configuration: .init(host: "127.0.0.1", port: 0, tls: tls),
            services: [FakeServices(recorder: recorder)], interceptors: [TokenCheck()])
    }

    func start() async throws { try await server.start() }

    func stop() async { await server.shutdown(gracePeriod: .seconds(1)) }

    /// `127.0.0.1:PORT`.
    var address: String { "127.0.0.1:\(server.localAddress?.port ?? 0)" }

    /// The connection flags of a signed-in agent.
    var flags: [String] { ["--server", address, "--ca", certificates.caFile, "--token", Self.token] }
}

/// Answers UNAUTHENTICATED without the test token, except for Health and Reflection.
struct TokenCheck: RPCInterceptor {
    func intercept(context: RPCContext, next: () async throws -> Void) async throws {
        if context.method.service != Health.name && context.method.service != Reflection.name {
            guard context.requestMetadata.firstText("authorization") == "Bearer \(FakeCRMServer.token)" else {
                throw RPCStatus(code: .unauthenticated, message: "no valid token; send authorization: Bearer <token>")
            }
        }
        try await next()
    }
}

/// Canned answers; the constants below are what the tests expect to see printed.
struct FakeServices: RPCService {
    let recorder: FakeCRMServer.Recorder

    static let unknownPhone = "0812-0000-000"
    static let placedMs: Int64 = 1_714_496_400_000  // 2024-05-01 00:00 +07:00

    static func profile() -> CustomerProfile {
        var p = CustomerProfile()
        p.customerID = "cus_budi"
        p.displayName = "Budi Santoso"
        p.tier = .gold
        p.customerSinceMs = placedMs
        p.tenureDays = 200
        p.counters = ProfileCounters(interactionsTotal: 12, ordersTotal: 3, spendTotalRupiah: 125_000_000, complaintsTotal: 1)
        p.identities = [
            Identity(handle: Handle(kind: .phone, value: "+628123456789"), rawValue: "0812-3456-789", lastSeenMs: placedMs, channels: [.phoneCall, .whatsapp]),
            Identity(handle: Handle(kind: .email, value: "budi@example.co.id"), rawValue: "Budi@Example.co.id", channels: [.email]),
        ]
        p.recentOrders = [OrderSummary(orderNumber: "SO-1", status: .delivered, placedMs: placedMs, totalRupiah: 1_250_000, lineCount: 2)]
        return p
    }

    static func complaint(_ id: String, state: ComplaintState) -> Complaint {
        var c = Complaint()
        c.complaintID = id
        c.customerID = "cus_budi"
        c.orderNumber = "SO-1"
        c.category = .broken
        c.state = state
        c.summary = "2 mugs broken"
        c.openedMs = placedMs
        c.items = [AffectedItem(sku: "MUG-01", quantityOrdered: 10, quantityReceived: 10, quantityBroken: 2, paidUnitPriceRupiah: 45_000, correctUnitPriceRupiah: 45_000)]
        c.allowedNextStates = [.closed]
        return c
    }

    func registerMethods(with router: inout MethodRouter) {
        let recorder = recorder
        router.register(ProfileService.getProfile, idempotent: true) { request, _ in
            recorder.record("GetProfile", request)
            if case .handle(let handle)? = request.customer?.target, handle.value == Self.unknownPhone {
                throw RPCStatus(code: .notFound, message: "no customer has the handle phone:\(handle.value)")
            }
            return GetProfileResponse(profile: Self.profile())
        }
        router.register(ProfileService.searchProfiles, idempotent: true) { request, _ in
            recorder.record("SearchProfiles", request)
            return SearchProfilesResponse(matches: [
                ProfileMatch(customerID: "cus_budi", displayName: "Budi Santoso", tier: .gold, handles: [Handle(kind: .phone, value: "+628123456789")]),
                ProfileMatch(customerID: "cus_budi2", displayName: "Budi Setiawan", tier: .silver),
            ], page: PageInfo(nextPageToken: "page-2"))
        }
        router.register(InteractionService.getTimeline, idempotent: true) { request, _ in
            recorder.record("GetTimeline", request)
            return GetTimelineResponse(customerID: "cus_budi", interactions: [
                Interaction(interactionID: "i2", channel: .whatsapp, direction: .inbound, occurredMs: Self.placedMs + 3_600_000, summary: "asks where the order is", intent: .informationRequest),
                Interaction(interactionID: "i1", channel: .email, direction: .outbound, occurredMs: Self.placedMs, subject: "Order confirmed"),
            ], page: PageInfo(nextPageToken: "t2"))
        }
        router.register(ComplaintService.transitionComplaint) { request, _ in
            recorder.record("TransitionComplaint", request)
            if request.complaintID == "CMP-STUCK" {
                throw RPCStatus(code: .failedPrecondition, message: "complaint CMP-STUCK is opened; it may move to in-review or rejected")
            }
            return TransitionComplaintResponse(outcome: .accepted, complaint: Self.complaint(request.complaintID, state: request.toState))
        }
        router.register(ComplaintService.getComplaint, idempotent: true) { request, _ in
            recorder.record("GetComplaint", request)
            return GetComplaintResponse(complaint: Self.complaint(request.complaintID, state: .inReview))
        }
        router.registerClientStreaming(OrderService.importOrders) { requests, _ in
            var response = ImportOrdersResponse()
            var received: [ImportOrdersRequest] = []
            for try await row in requests {
                received.append(row)
                var result = ImportOrderRowResult(rowNumber: row.rowNumber, orderNumber: row.order?.orderNumber ?? "")
                if row.order?.orderNumber == "SO-REJECT" {
                    result.outcome = .rejected
                    result.violations = [FieldViolation(field: "order.items[0].sku", reason: "unknown SKU")]
                    response.rejectedCount += 1
                } else {
                    result.outcome = .accepted
                    response.acceptedCount += 1
                }
                response.results.append(result)
            }
            recorder.record("ImportOrders", received)
            return response
        }
        router.register(ReportService.getRatingDistribution, idempotent: true) { request, _ in
            recorder.record("GetRatingDistribution", request)
            let counts: [(UInt32, UInt64, UInt32)] = [(5, 384, 5000), (4, 77, 1003), (3, 77, 1003), (2, 38, 495), (1, 192, 2500)]
            return GetRatingDistributionResponse(
                buckets: counts.map { RatingBucket(stars: $0.0, count: $0.1, sharePctX100: $0.2) }, total: 768, averageX100: 355)
        }
        router.registerServerStreaming(ComplaintService.watchComplaints, idempotent: true) { request, writer, _ in
            recorder.record("WatchComplaints", request)
            var summary = ComplaintSummary(complaintID: "CMP-1", orderNumber: "SO-1", category: .broken, state: .opened)
            try await writer.write(WatchComplaintsResponse(kind: .opened, complaint: summary, changedMs: Self.placedMs))
            summary.state = .inReview
            try await writer.write(WatchComplaintsResponse(
                kind: .transitioned, complaint: summary,
                transition: ComplaintTransition(fromState: .opened, toState: .inReview, actor: ActorRef(role: .agent, name: "Dewi", team: .afterSales)),
                changedMs: Self.placedMs + 60_000))
            // Live: nothing more until the client goes away.
            try await Task.sleep(for: .seconds(120))
        }
    }
}
