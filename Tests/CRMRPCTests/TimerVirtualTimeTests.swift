@testable import CRMRPC
import CRMTLS
import CRMWire
import NIOCore
import NIOEmbedded
import Synchronization
import Testing

/// Both roles' timers to the millisecond, on a testing event loop whose clock moves only when the
/// test moves it: nothing here depends on how fast this machine is. (`TimerTests` checks the server's
/// over real TLS, with timeouts long enough for a loaded machine.)
@Suite("Handshake timeout, keepalive and idle timeout on virtual time")
struct TimerVirtualTimeTests {
    @Test("HANDSHAKE_TIMEOUT: GOAWAY when the handshake timeout runs out after TLS, not a millisecond before")
    func handshakeTimeout() async throws {
        let server = try await VirtualTimeConnection.server(limits: ProtocolLimits(handshakeTimeout: .milliseconds(300)))
        try await server.completeTLS()
        await server.advance(by: .milliseconds(299))
        #expect(try await server.frames().map(\.type) == [.settings])
        #expect(server.channel.isActive)
        await server.advance(by: .milliseconds(1))
        let frames = try await server.frames()
        #expect(frames.map(\.type) == [.goAway])
        #expect(
            try frames.last.map { RPCStatus(try $0.decodeControlPayload(as: GoAway.self, using: WireDecoder())) }
                == RPCStatus(
                    code: .unavailable,
                    message: "HANDSHAKE_TIMEOUT: the client did not complete the TLS handshake, preface and first "
                        + "SETTINGS within 300 ms of connecting; a client sends them right after the handshake"))
        #expect(!server.channel.isActive)
    }

    @Test("keepalive: a PING after 200 ms of quiet; an answered one keeps the connection, one unanswered for 200 ms closes it")
    func keepalive() async throws {
        let server = try await VirtualTimeConnection.server(
            limits: ProtocolLimits(keepaliveInterval: .milliseconds(200), keepaliveTimeout: .milliseconds(200)))
        try await server.completeTLS()
        var opening = ByteBuffer(bytes: ConnectionPreface.bytes)
        Frame(type: .settings, streamID: .connection, payload: ByteBuffer()).write(to: &opening)
        try await server.receive(opening)
        #expect(try await server.frames().map(\.type) == [.settings, .settings])

        await server.advance(by: .milliseconds(199))
        #expect(try await server.frames().isEmpty)
        await server.advance(by: .milliseconds(1))
        let ping = try #require(try await server.frames().first { $0.type == .ping }).decodePing(using: WireDecoder())
        #expect(!ping.ack)
        var ack = ByteBuffer()
        try Frame(.ping, flags: .ack, streamID: .connection, message: Ping(opaqueData: ping.opaqueData, ack: true), using: WireEncoder())
            .write(to: &ack)
        try await server.receive(ack)

        // Answered: 200 ms after the answer (quiet again) the next PING, which goes unanswered.
        await server.advance(by: .milliseconds(199))
        #expect(try await server.frames().isEmpty)
        #expect(server.channel.isActive)
        await server.advance(by: .milliseconds(1))
        #expect(try await server.frames().map(\.type) == [.ping])
        await server.advance(by: .milliseconds(199))
        #expect(try await server.frames().isEmpty)
        #expect(server.channel.isActive)
        await server.advance(by: .milliseconds(1))
        let frames = try await server.frames()
        #expect(frames.map(\.type) == [.goAway])
        #expect(
            try frames.last.map { RPCStatus(try $0.decodeControlPayload(as: GoAway.self, using: WireDecoder())) }
                == RPCStatus(
                    code: .unavailable,
                    message: "KEEPALIVE_TIMEOUT: the client did not acknowledge a PING within 200 ms; "
                        + "the connection is presumed dead"))
        #expect(!server.channel.isActive)
    }

    @Test("client: without the server's first SETTINGS the connection closes when the handshake timeout runs out, and the call waiting for it fails")
    func clientHandshakeTimeout() async throws {
        let (client, ready) = try await VirtualTimeConnection.client(limits: ProtocolLimits(handshakeTimeout: .milliseconds(300)))
        try await client.completeTLS()
        #expect(try await client.frames().map(\.type) == [.settings])  // after the preface
        await client.advance(by: .milliseconds(299))
        #expect(client.channel.isActive)
        await client.advance(by: .milliseconds(1))
        #expect(!client.channel.isActive)
        #expect(try await client.frames().isEmpty)
        await #expect(
            throws: RPCStatus(
                code: .unavailable,
                message: "the connection closed before the server's SETTINGS arrived: the TLS handshake and the server's "
                    + "first SETTINGS did not complete within 300 ms")
        ) { try await ready.get() }
    }

    @Test("client: a PING after 200 ms of quiet; one unanswered for 200 ms is GOAWAY KEEPALIVE_TIMEOUT")
    func clientKeepalive() async throws {
        let (client, ready) = try await VirtualTimeConnection.client(
            limits: ProtocolLimits(keepaliveInterval: .milliseconds(200), keepaliveTimeout: .milliseconds(200)))
        try await client.completeTLS()
        try await client.receive(try Frame(.settings, streamID: .connection, message: ProtocolLimits().settings, using: WireEncoder()))
        try await ready.get()
        #expect(try await client.frames().map(\.type) == [.settings, .settings])

        await client.advance(by: .milliseconds(199))
        #expect(try await client.frames().isEmpty)
        await client.advance(by: .milliseconds(1))
        #expect(try await client.frames().map(\.type) == [.ping])
        await client.advance(by: .milliseconds(199))
        #expect(client.channel.isActive)
        await client.advance(by: .milliseconds(1))
        let frames = try await client.frames()
        #expect(frames.map(\.type) == [.goAway])
        #expect(
            try frames.last.map { RPCStatus(try $0.decodeControlPayload(as: GoAway.self, using: WireDecoder())) }
                == RPCStatus(
                    code: .unavailable,
                    message: "KEEPALIVE_TIMEOUT: the server did not acknowledge a PING within 200 ms; "
                        + "the connection is presumed dead"))
        #expect(!client.channel.isActive)
    }

    @Test("client: a connection without calls says GOAWAY and closes when the idle timeout runs out, not a millisecond before")
    func clientIdleTimeout() async throws {
        let (client, ready) = try await VirtualTimeConnection.client(
            limits: ProtocolLimits(keepaliveInterval: .zero, idleTimeout: .milliseconds(500)))
        try await client.completeTLS()
        try await client.receive(try Frame(.settings, streamID: .connection, message: ProtocolLimits().settings, using: WireEncoder()))
        try await ready.get()
        _ = try await client.frames()
        await client.advance(by: .milliseconds(499))
        #expect(try await client.frames().isEmpty)
        #expect(client.channel.isActive)
        await client.advance(by: .milliseconds(1))
        let frames = try await client.frames()
        #expect(
            try frames.map { RPCStatus(try $0.decodeControlPayload(as: GoAway.self, using: WireDecoder())) }
                == [RPCStatus(code: .ok, message: "idle for 500 ms")])
        #expect(!client.channel.isActive)
    }
}


/// A connection handler of either role (with the frame decoder before it) on a testing channel whose clock moves
/// only when the test moves it.
final class VirtualTimeConnection: Sendable {
    let channel: NIOAsyncTestingChannel
    private let parser: Mutex<(FrameParser, ByteBuffer)>

    private init(channel: NIOAsyncTestingChannel, role: ConnectionRole) {
        self.channel = channel
        parser = Mutex((FrameParser(role: role.peer), ByteBuffer()))
    }

    /// A server connected at virtual time 0, before the TLS handshake completes.
    static func server(limits: ProtocolLimits) async throws -> VirtualTimeConnection {
        var router = MethodRouter()
        router.register(HealthService())
        let routes = router
        return try await start(role: .server, limits: limits) {
            ServerConnectionHandler(limits: limits, router: routes, interceptors: [])
        }
    }

    /// A client connected at virtual time 0, before the TLS handshake completes; `ready` is its ready promise.
    static func client(limits: ProtocolLimits) async throws -> (VirtualTimeConnection, EventLoopFuture<Void>) {
        let ready = Mutex<EventLoopFuture<Void>?>(nil)
        let connection = try await start(role: .client, limits: limits) { eventLoop in
            let promise = eventLoop.makePromise(of: Void.self)
            ready.withLock { $0 = promise.futureResult }
            return ClientConnectionHandler(limits: limits, readyPromise: promise) {}
        }
        return (connection, ready.withLock { $0! })
    }

    private static func start(
        role: ConnectionRole, limits: ProtocolLimits, handler: @escaping @Sendable (any EventLoop) -> any ChannelHandler
    ) async throws -> VirtualTimeConnection {
        let channel = NIOAsyncTestingChannel()
        try await channel.testingEventLoop.executeInContext {
            try channel.pipeline.syncOperations.addHandlers([
                ByteToMessageHandler(FrameDecoder(role: role, limits: limits)), handler(channel.eventLoop),
            ])
        }
        try await channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 7443))
        return VirtualTimeConnection(channel: channel, role: role)
    }

    private static func start(
        role: ConnectionRole, limits: ProtocolLimits, handler: @escaping @Sendable () -> any ChannelHandler
    ) async throws -> VirtualTimeConnection {
        try await start(role: role, limits: limits) { _ in handler() }
    }

    /// What the TLS handler fires once the handshake is done.
    func completeTLS() async throws {
        let channel = self.channel
        try await channel.testingEventLoop.executeInContext {
            channel.pipeline.fireUserInboundEventTriggered(
                TLSHandshakeCompleted(
                    alpn: "crm/1", protocolVersion: "TLSv1.3", cipherSuite: "TLS_AES_128_GCM_SHA256", peerCertificate: nil))
        }
    }

    /// Bytes from the peer.
    func receive(_ bytes: ByteBuffer) async throws {
        try await channel.writeInbound(bytes)
    }

    /// Frames from the peer.
    func receive(_ frames: Frame...) async throws {
        var bytes = ByteBuffer()
        for frame in frames { frame.write(to: &bytes) }
        try await receive(bytes)
    }

    func advance(by amount: TimeAmount) async {
        await channel.testingEventLoop.advanceTime(by: amount)
    }

    /// The frames the handler has written since the last call.
    func frames() async throws -> [Frame] {
        var bytes = ByteBuffer()
        while let buffer = try await channel.readOutbound(as: ByteBuffer.self) {
            bytes.writeImmutableBuffer(buffer)
        }
        return try parser.withLock { state in
            state.1.writeBuffer(&bytes)
            var frames: [Frame] = []
            while let frame = try state.0.nextFrame(from: &state.1) { frames.append(frame) }
            return frames
        }
    }
}
