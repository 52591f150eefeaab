import CRMTLS
import NIOCore
import NIOPosix
import CRMTestSupport

/// A TLS server on 127.0.0.1 (an ephemeral port) whose connections each get a ``Recorder``.
final class LoopbackServer: Sendable {
    let channel: any Channel
    let port: Int
    private let recorders: LockedBox<[Recorder]>

    private init(channel: any Channel, recorders: LockedBox<[Recorder]>) throws {
        self.channel = channel
        self.recorders = recorders
        guard let port = channel.localAddress?.port else { throw TestFailure(description: "the server has no port") }
        self.port = port
    }

    static func start(
        context: TLSContext,
        behaviour: RecordingHandler.Behaviour = .init(echo: true)
    ) async throws -> LoopbackServer {
        let recorders = LockedBox<[Recorder]>([])
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture {
                    let recorder = Recorder()
                    recorders.withLock { $0.append(recorder) }
                    let pipeline = child.pipeline.syncOperations
                    try pipeline.addHandler(BelowTLSHandler())
                    try pipeline.addHandler(TLSHandler(context: context))
                    try pipeline.addHandler(RecordingHandler(recorder: recorder, behaviour: behaviour))
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        return try LoopbackServer(channel: channel, recorders: recorders)
    }

    /// The recorder of the `index`th accepted connection (from 0), once it has been accepted.
    func connection(_ index: Int, limit: Duration = .seconds(20)) async throws -> Recorder {
        let clock = ContinuousClock()
        let deadline = clock.now + limit
        while true {
            if let recorder = recorders.withLock({ $0.count > index ? $0[index] : nil }) { return recorder }
            guard clock.now < deadline else { throw TimedOut(what: "server connection #\(index)") }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    /// What the `index`th connection saw, once it has closed.
    func closedConnection(_ index: Int) async throws -> Observation {
        try await connection(index).waitUntilClosed()
    }

    var connectionCount: Int { recorders.withLock { $0.count } }

    func stop() async throws {
        try await channel.close()
    }
}

/// A client connection over TLS and what it saw.
struct LoopbackClient: Sendable {
    let channel: any Channel
    let recorder: Recorder

    static func connect(
        port: Int,
        context: TLSContext,
        serverName: String? = nil,
        behaviour: RecordingHandler.Behaviour = .init()
    ) async throws -> LoopbackClient {
        let recorder = Recorder()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    try pipeline.addHandler(BelowTLSHandler())
                    try pipeline.addHandler(TLSHandler(context: context, serverName: serverName))
                    try pipeline.addHandler(RecordingHandler(recorder: recorder, behaviour: behaviour))
                }
            }
            .connect(host: "127.0.0.1", port: port)
            .get()
        return LoopbackClient(channel: channel, recorder: recorder)
    }

    /// A plain TCP connection: no TLS at all.
    static func connectPlain(port: Int) async throws -> LoopbackClient {
        let recorder = Recorder()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(RecordingHandler(recorder: recorder))
                }
            }
            .connect(host: "127.0.0.1", port: port)
            .get()
        return LoopbackClient(channel: channel, recorder: recorder)
    }

    func send(_ bytes: ByteBuffer) async throws {
        try await channel.writeAndFlush(bytes)
    }

    func send(_ text: String) async throws {
        try await send(ByteBuffer(string: text))
    }

    /// Closes the socket under TLS, without close_notify.
    func abort() async throws {
        try await channel.eventLoop.submit {
            try channel.pipeline.syncOperations.handler(type: BelowTLSHandler.self).abort()
        }.get()
    }

    /// Sends bytes under TLS, straight onto the socket.
    func injectRaw(_ bytes: ByteBuffer) async throws {
        try await channel.eventLoop.submit {
            try channel.pipeline.syncOperations.handler(type: BelowTLSHandler.self).injectRaw(bytes)
        }.get()
    }

    /// Waits for the handshake event.
    @discardableResult
    func handshake() async throws -> TLSHandshakeCompleted {
        let observation = try await recorder.wait(for: "the client handshake") {
            $0.handshake != nil || $0.inactive
        }
        guard let handshake = observation.handshake else {
            throw TestFailure(description: "expected a handshake, but the connection closed: \(observation.summary)")
        }
        return handshake
    }
}

/// Contexts made from the test certificates.
struct Contexts {
    let certificates: TestCertificates

    init() throws {
        certificates = try TestCertificates.shared()
    }

    func server(
        clientCertificates: TLSConfiguration.ClientCertificateMode = .required,
        applicationProtocols: [String] = ["crm/1"],
        configure: (inout TLSConfiguration) -> Void = { _ in }
    ) throws -> TLSContext {
        var configuration = TLSConfiguration.server(
            certificateChainFile: certificates.serverCertificate,
            privateKeyFile: certificates.serverKey,
            clientCertificateMode: clientCertificates,
            trustRootsFile: certificates.caFile,
            applicationProtocols: applicationProtocols
        )
        // The whole test suite runs at once on two cores, and a test task can wait seconds for
        // its turn between connecting and sending; only the tests of the timeout itself use a
        // short one (they set it below), so the others must not trip over the 10 s default.
        // The same holds for the 5 s wait for the peer's close_notify.
        configuration.handshakeTimeout = .seconds(120)
        configuration.closeNotifyTimeout = .seconds(120)
        configure(&configuration)
        return try TLSContext(configuration: configuration)
    }

    /// A client presenting `identity` (a gen-certs name such as `client-adapter`, or nil for none).
    func client(
        identity: String? = "client-adapter",
        serverName: String = "localhost",
        trusting caFile: String? = nil,
        applicationProtocols: [String] = ["crm/1"],
        configure: (inout TLSConfiguration) -> Void = { _ in }
    ) throws -> TLSContext {
        let files = identity.map(certificates.identity)
        var configuration = TLSConfiguration.client(
            serverName: serverName,
            trustRootsFile: caFile ?? certificates.caFile,
            certificateChainFile: files?.certificate,
            privateKeyFile: files?.key,
            applicationProtocols: applicationProtocols
        )
        // See `server(...)`: a loaded test run must not trip over the 5 s close_notify default.
        configuration.closeNotifyTimeout = .seconds(120)
        configure(&configuration)
        return try TLSContext(configuration: configuration)
    }
}

/// Checks that a well-behaved client still completes a handshake and an echo on `server` (after a bad one).
func expectGoodClientServed(by server: LoopbackServer, contexts: Contexts, serverName: String = "localhost")
    async throws
{
    let client = try await LoopbackClient.connect(
        port: server.port,
        context: try contexts.client(serverName: serverName)
    )
    let handshake = try await client.handshake()
    guard handshake.alpn == "crm/1" else {
        throw TestFailure(description: "expected ALPN crm/1, got \(String(describing: handshake.alpn))")
    }
    try await client.send("still served")
    try await client.recorder.wait(for: "the echo") { $0.received.readableBytes >= "still served".utf8.count }
    try await client.channel.close()
}

/// A deterministic, non-repeating-looking payload of `count` bytes.
func payload(count: Int, seed: UInt32 = 0x9E37_79B9) -> ByteBuffer {
    var state = seed
    let bytes = [UInt8](unsafeUninitializedCapacity: count) { storage, initialized in
        for index in 0..<count {
            // xorshift32: cheap, and unlike a counter it catches reordered or repeated chunks.
            state ^= state << 13
            state ^= state >> 17
            state ^= state << 5
            storage[index] = UInt8(truncatingIfNeeded: state)
        }
        initialized = count
    }
    return ByteBuffer(bytes: bytes)
}
