import CRMRPC
import CRMTLS
import CRMWire
import NIOCore
import NIOPosix
import Synchronization
import CRMTestSupport

/// A started server with the echo service, and how to make clients of it.
struct Harness: Sendable {
    let server: RPCServer
    let probe: Probe
    let certificates: TestCertificates
    let port: Int

    /// Starts a server on 127.0.0.1 with a free port.
    static func start(
        port: Int = 0,
        limits: ProtocolLimits = .default,
        clientCertificates: TLSConfiguration.ClientCertificateMode = .none,
        interceptors: [any RPCInterceptor] = [],
        closeNotifyTimeout: Duration? = nil,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> Harness {
        let certificates = try TestCertificates.shared()
        let probe = Probe()
        var tls = TLSConfiguration.server(
            certificateChainFile: certificates.serverCertificate, privateKeyFile: certificates.serverKey,
            clientCertificateMode: clientCertificates, trustRootsFile: certificates.caFile)
        if let closeNotifyTimeout { tls.closeNotifyTimeout = closeNotifyTimeout }
        let server = try RPCServer(
            configuration: .init(host: "127.0.0.1", port: port, tls: tls, limits: limits),
            services: [EchoService(probe: probe)], interceptors: interceptors, eventLoopGroup: eventLoopGroup)
        try await server.start()
        guard let port = server.localAddress?.port else { throw TimedOut(what: "a bound port") }
        return Harness(server: server, probe: probe, certificates: certificates, port: port)
    }

    /// A client trusting the test CA, presenting `identity` (a gen-certs name) if given.
    func client(identity: String? = nil, limits: ProtocolLimits = .default, backoff: Backoff = .grpc) throws -> RPCClient {
        try Self.client(port: port, identity: identity, limits: limits, backoff: backoff)
    }

    /// A client of 127.0.0.1:`port`, whether or not a server listens there.
    static func client(
        port: Int, identity: String? = nil, limits: ProtocolLimits = .default, backoff: Backoff = .grpc
    ) throws -> RPCClient {
        let certificates = try TestCertificates.shared()
        let files = identity.map(certificates.identity)
        let tls = TLSConfiguration.client(
            serverName: "localhost", trustRootsFile: certificates.caFile, certificateChainFile: files?.certificate,
            privateKeyFile: files?.key)
        return try RPCClient(
            configuration: .init(host: "127.0.0.1", port: port, tls: tls, serverName: "localhost", limits: limits, backoff: backoff))
    }

    /// A TLS context for raw connections.
    func rawClientContext(identity: String? = nil) throws -> TLSContext {
        let files = identity.map(certificates.identity)
        return try TLSContext(
            configuration: .client(
                serverName: "localhost", trustRootsFile: certificates.caFile, certificateChainFile: files?.certificate,
                privateKeyFile: files?.key, applicationProtocols: [RPCProtocol.alpn]))
    }

    /// Checks that a fresh client still gets answers.
    func expectServed() async throws {
        let client = try client()
        let answer = try await client.unary(Echo.unary, HealthCheckRequest(service: "still served"))
        await client.close()
        guard answer.service == "still served" else { throw TimedOut(what: "an echo, got \(answer)") }
    }

    func stop() async {
        await server.shutdown(gracePeriod: .seconds(1))
    }
}

/// Runs `body` with a started harness and shuts it down after.
func withHarness<Result>(
    limits: ProtocolLimits = .default,
    clientCertificates: TLSConfiguration.ClientCertificateMode = .none,
    interceptors: [any RPCInterceptor] = [],
    closeNotifyTimeout: Duration? = nil,
    eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
    _ body: (Harness) async throws -> Result
) async throws -> Result {
    let harness = try await Harness.start(
        limits: limits, clientCertificates: clientCertificates, interceptors: interceptors,
        closeNotifyTimeout: closeNotifyTimeout, eventLoopGroup: eventLoopGroup)
    do {
        let result = try await body(harness)
        await harness.stop()
        return result
    } catch {
        await harness.stop()
        throw error
    }
}

/// Expects `body` to fail with exactly `code` (and `message`, when given); returns the status.
@discardableResult
func expectStatus(
    _ code: RPCStatus.Code, _ message: String? = nil, _ body: () async throws -> Void
) async throws -> RPCStatus {
    do {
        try await body()
    } catch let status as RPCStatus {
        guard status.code == code, message.map({ $0 == status.message }) ?? true else {
            throw UnexpectedStatus(expected: "\(code.name) \(message ?? "")", got: status)
        }
        return status
    }
    throw UnexpectedStatus(expected: "\(code.name) \(message ?? "")", got: .ok)
}

struct UnexpectedStatus: Error, CustomStringConvertible {
    var expected: String
    var got: RPCStatus
    var description: String { "expected \(expected), got \(got)" }
}
