public import CRMClient
public import CRMRPC
public import CRMServer
public import CRMStore
import CRMPostgresStore
import CRMTLS
public import CRMTestSupport
public import CRMWire
import Foundation
import Logging
import Synchronization

/// A real CRM server started in-process for a test, the way `crmd serve` assembles it: ``CRMServerApp`` with the
/// interceptors [metrics, logging, authentication], a SQLite store in a data directory of its own, TLS on
/// 127.0.0.1 with a port the system chooses, and tokens issued by its ``TokenRegistry``. Nothing is stubbed, so
/// a test that passes here passes against the wire, the store and the access checks a deployment runs.
///
/// ```swift
/// try await withTestServer { server in
///     let profile = try await server.call(ProfileService.getProfile, request, as: .sales)
///     let client = try await server.client(as: .supervisor)
///     // ...
/// }
/// ```
public struct TestServer: Sendable {
    /// What the server serves.
    public enum Services: Sendable {
        /// Every CRM service over one ``EventHub`` and the test's clock, as `crmd serve` serves them. The notice
        /// sweeps are scheduled hourly, which no test waits for: tests run them by hand through
        /// ``TestServer/sweeps`` after moving the clock, so what a sweep sends does not depend on timing.
        case crm
        /// These services (the RPC server adds health and reflection) and background sweeps, run on their own
        /// schedule: for tests of the server's machinery (access control, TLS, the sweeper, shutdown) that want
        /// handlers they control instead of the CRM's.
        case custom([any RPCService], sweeps: [SweepTask] = [])
    }

    /// The server's TLS certificates.
    public enum Certificates: Sendable, Hashable {
        /// The test set of ``TestCertificates``: the server's certificate is signed by the test CA, and a client
        /// certificate that CA signed authenticates an adapter (required of every client when
        /// `requireClientCertificate`).
        case test(requireClientCertificate: Bool = false)
        /// None configured, so the server makes development certificates in `<data>/certs` on its first start
        /// and reuses them after, as `crmd serve` does without `--cert`.
        case development
    }

    /// The fixed start of a test server's clock, Unix ms (2024-06-01T00:00:00Z): "now" on a server whose
    /// ``TestClock`` has not moved.
    public static let now: Int64 = 1_717_200_000_000

    /// The running server, for tests of its lifecycle (shutdown while calls or watches are open).
    public let app: CRMServerApp
    /// The data directory: the SQLite store, and the development certificates with ``Certificates/development``.
    public let directory: String
    /// The port the server listens on, on 127.0.0.1.
    public let port: Int
    /// The open store, for tests that write facts directly or read what a call stored.
    public let store: any Store
    /// The hub the services' watch streams listen to, for tests that wait until a watch is subscribed.
    public let events: EventHub
    /// The time the services read.
    public let clock: TestClock
    /// The registry of the server's tokens, for tests of issuing, revoking and expiring them.
    public let registry: TokenRegistry
    /// The test certificate set: client certificates (``TestCertificates/identity(_:)``) and an untrusted CA.
    public let testCertificates: TestCertificates
    /// The CA that signed the server's certificate, which clients trust.
    public let caFile: String
    /// A client of the server without credentials of its own: each call says who makes it
    /// (``options(_:)``), so one connection serves every caller of a test.
    public let rpc: RPCClient

    private let services: Services
    private let certificateSetting: Certificates
    private let shutdownGracePeriod: Duration
    private let tokens: IssuedTokens
    private let noticeSweeps: NoticeSweeps?
    private let database: String?

    /// `127.0.0.1:PORT`.
    public var address: String { "127.0.0.1:\(port)" }

    /// The sweeps of the CRM services, for tests to run by hand. Only a server of ``Services/crm`` has them.
    public var sweeps: NoticeSweeps {
        guard let noticeSweeps else {
            preconditionFailure("the server was started with custom services, which have no notice sweeps")
        }
        return noticeSweeps
    }

    /// Starts a server.
    ///
    /// - Parameters:
    ///   - directory: the data directory; a new temporary one when nil. Tests give one to put the store on a
    ///     filesystem of their own; ``stop(keepingData:)`` removes it all the same unless asked to keep it.
    ///   - clock: the time the CRM services read.
    ///   - services: what the server serves.
    ///   - certificates: the server's TLS certificates.
    ///   - shutdownGracePeriod: how long calls in flight may run on once a shutdown that names no grace period
    ///     of its own begins; tests that shut down with watches open make it long, so that a shutdown waiting
    ///     for them fails the test.
    ///   - database: a PostgreSQL database URL to serve instead of the data directory's SQLite store, as `crmd serve
    ///     --database` does (a deduplicating hub); several test servers given one database are several nodes.
    public static func start(
        directory: String? = nil, clock: TestClock = TestClock(), services: Services = .crm,
        certificates: Certificates = .test(), shutdownGracePeriod: Duration = .seconds(5), database: String? = nil
    ) async throws -> TestServer {
        try await start(
            directory: directory ?? temporaryDataDirectory(), clock: clock, services: services, certificates: certificates,
            shutdownGracePeriod: shutdownGracePeriod, tokens: IssuedTokens(), database: database)
    }

    private static func start(
        directory: String, clock: TestClock, services: Services, certificates: Certificates, shutdownGracePeriod: Duration,
        tokens: IssuedTokens, database: String?
    ) async throws -> TestServer {
        let testCertificates = try TestCertificates.shared()
        let serverConfiguration = try configuration(
            directory: directory, certificates: certificates, shutdownGracePeriod: shutdownGracePeriod)
        let events = EventHub(deduplicating: database != nil)
        let made = Mutex<CRMServices?>(nil)
        let openStore: CRMServerApp.OpenStore
        if let database {
            openStore = { _, _ in try await PostgresStore.open(PostgresLocation(url: database), logger: quietLogger) }
        } else {
            openStore = CRMServerApp.openEmbeddedStore
        }
        let app = CRMServerApp(configuration: serverConfiguration, logger: quietLogger, openStore: openStore) { store in
            switch services {
            case .crm:
                let crm = CRMServices(store: store, events: events, now: clock.read)
                made.withLock { $0 = crm }
                return ServerComponents(services: crm.all, sweeps: crm.sweeps(interval: .seconds(3600)), events: events)
            case .custom(let custom, let sweeps):
                return ServerComponents(services: custom, sweeps: sweeps, events: events)
            }
        }
        try await app.start()
        guard let port = app.port, let store = app.store, let tls = app.tls else {
            await app.shutdown(gracePeriod: .zero)
            throw TestServerError(description: "the server started without a port, store or TLS configuration")
        }
        let caFile = tls.development?.caFile ?? testCertificates.caFile
        let clientTLS = TLSConfiguration.client(serverName: "localhost", trustRootsFile: caFile)
        let rpc: RPCClient
        do {
            rpc = try RPCClient(configuration: .init(host: "127.0.0.1", port: port, tls: clientTLS, serverName: "localhost"))
        } catch {
            await app.shutdown(gracePeriod: .zero)
            throw error
        }
        return TestServer(
            app: app, directory: directory, port: port, store: store, events: events, clock: clock,
            registry: TokenRegistry(store: store), testCertificates: testCertificates, caFile: caFile, rpc: rpc,
            services: services, certificateSetting: certificates, shutdownGracePeriod: shutdownGracePeriod, tokens: tokens,
            noticeSweeps: made.withLock { $0 }?.noticeSweeps, database: database)
    }

    /// The configuration a test server starts with on `directory`, for tests of what the server makes of it before
    /// it starts (``CRMServerApp/resolveTLS(_:)``).
    public static func configuration(
        directory: String, certificates: Certificates = .test(), shutdownGracePeriod: Duration = .seconds(5)
    ) throws -> ServerConfiguration {
        var configuration = ServerConfiguration(
            host: "127.0.0.1", port: 0, dataDirectory: directory, metricsPort: nil, logLevel: "critical",
            shutdownGracePeriod: shutdownGracePeriod)
        if case .test(let requireClientCertificate) = certificates {
            let files = try TestCertificates.shared()
            configuration.certificateFile = files.serverCertificate
            configuration.privateKeyFile = files.serverKey
            configuration.clientCAFile = files.caFile
            configuration.requireClientCertificate = requireClientCertificate
        }
        return configuration
    }

    /// A new data directory path in the temporary folder (not made yet: the server makes it), unique to the test.
    public static func temporaryDataDirectory() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("crm-test-server-\(UUID().uuidString)").path
    }

    /// Stops the server (calls in flight get a second to finish) and removes its data directory unless `keepingData`.
    public func stop(keepingData: Bool = false) async {
        await rpc.close()
        await app.shutdown(gracePeriod: .seconds(1))
        if !keepingData { try? FileManager.default.removeItem(atPath: directory) }
    }

    /// Stops this server and starts a new one on the same data directory, with the same clock, services, certificates
    /// and tokens: what a test sees after a restart is only what the store kept. The new server listens on a new port.
    public func restarted() async throws -> TestServer {
        await stop(keepingData: true)
        return try await Self.start(
            directory: directory, clock: clock, services: services, certificates: certificateSetting,
            shutdownGracePeriod: shutdownGracePeriod, tokens: tokens, database: database)
    }

    // MARK: Callers

    /// The token of `caller`, issued on first use; nil for ``TestCaller/anonymous``.
    public func token(_ caller: TestCaller) async throws -> String? {
        try await tokens.token(for: caller, registry: registry)
    }

    /// Call options authenticating as `caller` (`authorization: Bearer <token>`), for calls through ``rpc``.
    public func options(_ caller: TestCaller) async throws -> CallOptions {
        var options = CallOptions()
        if let token = try await token(caller) { options.metadata.add("authorization", "Bearer \(token)") }
        return options
    }

    /// A ``CRMClient`` of the server that calls as `caller`, as an application using the client library would;
    /// its connection is its own, so the caller closes it.
    public func client(as caller: TestCaller) async throws -> CRMClient {
        let token = try await token(caller)
        return try CRMClient(configuration: ClientConfiguration(host: "127.0.0.1", port: port, caFile: caFile, token: token))
    }

    /// A new ``RPCClient`` with a connection of its own and the TLS a test chooses: for tests of the handshake,
    /// client certificates and shutdown, which need a connection no other call shares.
    ///
    /// - Parameters:
    ///   - certificate: the client certificate and key to present, if any (``TestCertificates/identity(_:)``).
    ///   - caFile: the CA to trust; ``caFile`` when nil.
    ///   - serverName: the name the server's certificate must carry.
    public func rpcClient(
        certificate: (certificate: String, key: String)? = nil, trusting caFile: String? = nil, serverName: String = "localhost"
    ) throws -> RPCClient {
        let tls = TLSConfiguration.client(
            serverName: serverName, trustRootsFile: caFile ?? self.caFile, certificateChainFile: certificate?.certificate,
            privateKeyFile: certificate?.key)
        return try RPCClient(configuration: .init(host: "127.0.0.1", port: port, tls: tls, serverName: serverName))
    }

    // MARK: Calls

    /// Calls a unary method as `caller`.
    public func call<Request, Response>(
        _ method: WireMethod<Request, Response>, _ request: Request, as caller: TestCaller = .supervisor
    ) async throws -> Response {
        try await rpc.unary(method, request, options: options(caller))
    }

    /// The status a unary call as `caller` ends with (OK when it succeeds), for tests of refusals.
    public func status<Request, Response>(
        _ method: WireMethod<Request, Response>, _ request: Request, as caller: TestCaller
    ) async throws -> RPCStatus {
        let options = try await options(caller)
        do {
            _ = try await rpc.unary(method, request, options: options)
            return .ok
        } catch let status as RPCStatus {
            return status
        }
    }
}

/// Runs `body` with a started ``TestServer`` and stops it after, whether `body` returns or throws.
public func withTestServer<T>(
    directory: String? = nil, clock: TestClock = TestClock(), services: TestServer.Services = .crm,
    certificates: TestServer.Certificates = .test(), shutdownGracePeriod: Duration = .seconds(5),
    _ body: (TestServer) async throws -> T
) async throws -> T {
    let server = try await TestServer.start(
        directory: directory, clock: clock, services: services, certificates: certificates,
        shutdownGracePeriod: shutdownGracePeriod)
    let result: T
    do {
        result = try await body(server)
    } catch {
        await server.stop()
        throw error
    }
    await server.stop()
    return result
}

/// Why a test server could not start.
public struct TestServerError: Error, CustomStringConvertible {
    public var description: String
}

/// The server's logger: quiet, so a test's output is its own.
private let quietLogger: Logger = {
    var logger = Logger(label: "crmd-test")
    logger.logLevel = .critical
    return logger
}()
