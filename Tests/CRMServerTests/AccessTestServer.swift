import CRMDomain
import CRMMessages
import CRMRPC
import CRMServer
import CRMStore
import CRMTLS
import CRMTestSupport
import CRMWire
import Foundation
import Logging
import Synchronization
import Testing

/// A real CRMServerApp on 127.0.0.1 with a free port, real TLS (the test certificates, client
/// certificates optional), a real SQLite store in a temporary folder, and probe services whose
/// handlers answer with the caller's principal in the trailers.
struct AccessTestServer: Sendable {
    let app: CRMServerApp
    let directory: String
    let port: Int
    let certificates: TestCertificates
    let tokens: TokenRegistry

    static func start(
        services: [any RPCService] = [ProbeService()], requireClientCertificate: Bool = false,
        configure: (inout ServerConfiguration) -> Void = { _ in }
    ) async throws -> AccessTestServer {
        let certificates = try TestCertificates.shared()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("crm-access-\(UUID().uuidString)").path
        var configuration = ServerConfiguration(
            host: "127.0.0.1", port: 0, dataDirectory: directory, certificateFile: certificates.serverCertificate,
            privateKeyFile: certificates.serverKey, clientCAFile: certificates.caFile,
            requireClientCertificate: requireClientCertificate, metricsPort: nil, logLevel: "error",
            shutdownGracePeriod: .seconds(5))
        configure(&configuration)
        let app = CRMServerApp(configuration: configuration, logger: quietLogger) { _ in services }
        try await app.start()
        let port = try #require(app.port)
        let store = try #require(app.store)
        return AccessTestServer(
            app: app, directory: directory, port: port, certificates: certificates, tokens: TokenRegistry(store: store))
    }

    /// A client trusting `caFile` (the test CA unless given), presenting `identity` (a gen-certs name) if given.
    func client(identity: String? = nil, caFile: String? = nil, certificate: (String, String)? = nil) throws -> RPCClient {
        let files = certificate ?? identity.map(certificates.identity)
        let tls = TLSConfiguration.client(
            serverName: "localhost", trustRootsFile: caFile ?? certificates.caFile, certificateChainFile: files?.0,
            privateKeyFile: files?.1)
        return try RPCClient(configuration: .init(host: "127.0.0.1", port: port, tls: tls, serverName: "localhost"))
    }

    func stop() async {
        await app.shutdown(gracePeriod: .seconds(1))
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// Runs `body` with a started server and stops it after, whatever happens.
func withAccessServer<T>(
    services: [any RPCService] = [ProbeService()], requireClientCertificate: Bool = false,
    _ body: (AccessTestServer) async throws -> T
) async throws -> T {
    let server = try await AccessTestServer.start(services: services, requireClientCertificate: requireClientCertificate)
    do {
        let result = try await body(server)
        await server.stop()
        return result
    } catch {
        await server.stop()
        throw error
    }
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

/// A logger that keeps test output readable.
let quietLogger: Logger = {
    var logger = Logger(label: "crmd-test")
    logger.logLevel = .critical
    return logger
}()

/// How many slow probe calls have reached their handler (only the shutdown test makes them).
let slowCallsStarted = ProbeCounter()

/// A counter that handlers and tests share.
final class ProbeCounter: Sendable {
    private let count = Mutex(0)
    func add() { count.withLock { $0 += 1 } }
    var value: Int { count.withLock { $0 } }
}
