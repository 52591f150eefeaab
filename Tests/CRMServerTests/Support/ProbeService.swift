import CRMMessages
import CRMRPC
import CRMServer
import CRMServerTesting
import CRMWire
import Synchronization

extension TestServer.Services {
    /// Only the ``ProbeService``: the server's own machinery (TLS, authentication, access policy, shutdown) with
    /// handlers that report who called.
    static var probe: Self { .custom([ProbeService()]) }
}

/// Call options carrying `token` as `authorization: Bearer <token>`.
func accessOptions(token: String?) -> CallOptions {
    var metadata = Metadata()
    if let token { metadata.add("authorization", "Bearer \(token)") }
    return CallOptions(metadata: metadata, maxAttempts: 1)
}

/// The status a call ends with (OK when it succeeds).
func callStatus(_ call: () async throws -> Void) async -> RPCStatus {
    do {
        try await call()
        return .ok
    } catch let status as RPCStatus {
        return status
    } catch {
        return RPCStatus(code: .unknown, message: "\(error)")
    }
}

/// Stand-ins for the CRM services: one representative method of each class of caller, answering
/// default messages with the principal in the trailers (`principal: role:name`,
/// `principal-customer: <id>`), plus a slow method for shutdown tests.
struct ProbeService: RPCService {
    /// How long `SearchProfiles` takes.
    static let slowCall: Duration = .milliseconds(700)

    func registerMethods(with router: inout MethodRouter) {
        probe(InteractionService.pushInteraction, &router)  // adapter
        probe(ProfileService.getProfile, &router)  // agent
        probe(ReportService.getRefundRecap, &router)  // supervisor
        probe(ComplaintService.getComplaint, &router)  // customer
        probe(ProfileService.unlinkIdentities, &router)  // supervisor only
        router.register(ProfileService.searchProfiles) { _, context in
            slowCallsStarted.add()
            try await Task.sleep(for: Self.slowCall)
            Self.report(context)
            return SearchProfilesResponse()
        }
    }

    private func probe<Request, Response>(_ method: WireMethod<Request, Response>, _ router: inout MethodRouter) {
        router.register(method) { _, context in
            Self.report(context)
            return Response()
        }
    }

    static func report(_ context: RPCContext) {
        var trailers = Metadata()
        if let principal = Principal.current {
            trailers.add("principal", principal.auditName)
            if let customer = principal.customerID { trailers.add("principal-customer", customer.rawValue) }
            if let team = principal.team { trailers.add("principal-team", team.rawValue) }
        } else {
            trailers.add("principal", "none")
        }
        context.addTrailingMetadata(trailers)
    }
}

/// How many slow probe calls have reached their handler (only the shutdown test makes them).
let slowCallsStarted = ProbeCounter()

/// A counter that handlers and tests share.
final class ProbeCounter: Sendable {
    private let count = Mutex(0)
    func add() { count.withLock { $0 += 1 } }
    var value: Int { count.withLock { $0 } }
}
