@testable import CRMRPC
import CRMTLS
import CRMWire
import NIOCore
import NIOEmbedded
import Synchronization
import Testing

/// The server's timers to the millisecond, on a testing event loop whose clock moves only when the
/// test moves it: nothing here depends on how fast this machine is. (`TimerTests` checks the same
/// over real TLS, with timeouts long enough for a loaded machine.)
@Suite("Handshake timeout and keepalive on virtual time")
struct TimerVirtualTimeTests {
    @Test("HANDSHAKE_TIMEOUT: GOAWAY when the handshake timeout runs out after TLS, not a millisecond before")
    func handshakeTimeout() async throws {
        let server = try await VirtualTimeServer.start(limits: ProtocolLimits(handshakeTimeout: .milliseconds(300)))
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
        let server = try await VirtualTimeServer.start(
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
}

/// A `ServerConnectionHandler` (with the frame decoder before it) on a testing channel.
final class VirtualTimeServer: Sendable {
    let channel: NIOAsyncTestingChannel
    private let parser = Mutex((FrameParser(role: .client), ByteBuffer()))

    private init(channel: NIOAsyncTestingChannel) {
        self.channel = channel
    }

    /// Connected at virtual time 0, before the TLS handshake completes.
    static func start(limits: ProtocolLimits) async throws -> VirtualTimeServer {
        let health = HealthService()
        var router = MethodRouter()
        router.register(health)
        let routes = router
        let channel = NIOAsyncTestingChannel()
        try await channel.testingEventLoop.executeInContext {
            try channel.pipeline.syncOperations.addHandlers([
                ByteToMessageHandler(FrameDecoder(role: .server, limits: limits)),
                ServerConnectionHandler(limits: limits, router: routes, interceptors: []),
            ])
        }
        try await channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 7443))
        return VirtualTimeServer(channel: channel)
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

    /// Bytes from the client.
    func receive(_ bytes: ByteBuffer) async throws {
        try await channel.writeInbound(bytes)
    }

    func advance(by amount: TimeAmount) async {
        await channel.testingEventLoop.advanceTime(by: amount)
    }

    /// The frames the server has written since the last call.
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
