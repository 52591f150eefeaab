import CRMTLS
import NIOCore
import NIOEmbedded
import Testing

/// The handler's state machine between two in-memory channels: the test carries every byte across
/// and moves time by hand, so timeouts and orderings are exact.
@Suite("TLSHandler in memory")
struct EmbeddedTLSTests {
    let contexts: Contexts

    init() throws {
        contexts = try Contexts()
    }

    /// A client or server channel with a TLS handler and a recorder.
    struct End {
        let channel: EmbeddedChannel
        let recorder = Recorder()

        init(context: TLSContext, behaviour: RecordingHandler.Behaviour = .init(), activate: Bool = true) throws {
            channel = EmbeddedChannel()
            try channel.pipeline.syncOperations.addHandler(TLSHandler(context: context))
            try channel.pipeline.syncOperations.addHandler(RecordingHandler(recorder: recorder, behaviour: behaviour))
            if activate {
                try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 4433)).wait()
            }
        }
    }

    /// Moves ciphertext both ways until neither side has anything more to send; `chunk` splits it into
    /// pieces of that many bytes.
    func shuttle(_ a: End, _ b: End, chunk: Int = .max) throws {
        var moved = true
        while moved {
            moved = false
            for (from, to) in [(a, b), (b, a)] {
                while var bytes = try from.channel.readOutbound(as: ByteBuffer.self) {
                    moved = true
                    while bytes.readableBytes > 0, to.channel.isActive,
                        let piece = bytes.readSlice(length: min(chunk, bytes.readableBytes))
                    {
                        try to.channel.writeInbound(piece)
                    }
                }
            }
        }
    }

    @Test("handshake, a write made before it, echo, and close_notify both ways, all in memory")
    func fullSession() throws {
        let server = try End(context: try contexts.server(), behaviour: .init(echo: true))
        let client = try End(context: try contexts.client())
        let early = client.channel.writeAndFlush(ByteBuffer(string: "early"))
        #expect(client.recorder.snapshot.handshake == nil)

        try shuttle(client, server)
        #expect(client.recorder.snapshot.handshake?.alpn == "crm/1")
        #expect(server.recorder.snapshot.handshake?.peerCertificate?.commonName == "adapter-whatsapp")
        #expect(String(buffer: server.recorder.snapshot.received) == "early")
        #expect(String(buffer: client.recorder.snapshot.received) == "early")
        try early.wait()

        let closed = client.channel.close()
        try shuttle(client, server)
        try closed.wait()
        for end in [client, server] {
            let observation = end.recorder.snapshot
            #expect(observation.shutdownCompleted)
            #expect(observation.inactive)
            #expect(observation.tlsErrors.isEmpty)
        }
    }

    @Test("ciphertext arriving one byte at a time still makes a session")
    func byteByByte() throws {
        let server = try End(context: try contexts.server(), behaviour: .init(echo: true))
        let client = try End(context: try contexts.client())
        try shuttle(client, server, chunk: 1)
        #expect(client.recorder.snapshot.handshake != nil)
        #expect(server.recorder.snapshot.handshake != nil)

        let message = payload(count: 40_000)
        client.channel.writeAndFlush(message, promise: nil)
        try shuttle(client, server, chunk: 1)
        #expect(client.recorder.snapshot.received == message)
    }

    @Test("added to a channel that is already active, the handler starts the handshake at once")
    func addedToActiveChannel() throws {
        let channel = EmbeddedChannel()
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 4433)).wait()
        try channel.pipeline.syncOperations.addHandler(TLSHandler(context: try contexts.client()))
        let clientHello = try channel.readOutbound(as: ByteBuffer.self)
        #expect(clientHello?.getInteger(at: 0, as: UInt8.self) == 0x16)  // a handshake record
        _ = try? channel.finish()
    }

    @Test("a peer that never answers close_notify: closed after the timeout with closeTimedOut")
    func closeNotifyTimeout() throws {
        let server = try End(context: try contexts.server())
        let client = try End(context: try contexts.client { $0.closeNotifyTimeout = .seconds(3) })
        try shuttle(client, server)
        #expect(client.recorder.snapshot.handshake != nil)

        let closed = client.channel.close()
        _ = try client.channel.readOutbound(as: ByteBuffer.self)  // our close_notify, never delivered
        client.channel.embeddedEventLoop.advanceTime(by: .seconds(2))
        #expect(!client.recorder.snapshot.inactive)
        client.channel.embeddedEventLoop.advanceTime(by: .seconds(2))
        try closed.wait()
        let observation = client.recorder.snapshot
        #expect(observation.inactive)
        #expect(observation.tlsErrorKinds == [.closeTimedOut])
        #expect(!observation.shutdownCompleted)
    }

    @Test("a handshake that stalls is closed exactly at the handshake timeout")
    func handshakeTimeout() throws {
        let server = try End(context: try contexts.server { $0.handshakeTimeout = .seconds(5) })
        server.channel.embeddedEventLoop.advanceTime(by: .milliseconds(4_999))
        #expect(server.channel.isActive)
        server.channel.embeddedEventLoop.advanceTime(by: .milliseconds(1))
        #expect(!server.channel.isActive)
        #expect(server.recorder.snapshot.tlsErrorKinds == [.handshakeTimedOut])
    }

    @Test("writes after close are refused, and writes on a closed session fail")
    func writesAfterClose() throws {
        let server = try End(context: try contexts.server())
        let client = try End(context: try contexts.client())
        try shuttle(client, server)

        _ = client.channel.close()
        let duringClose = client.channel.writeAndFlush(ByteBuffer(string: "too late"))
        #expect(throws: ChannelError.outputClosed) { try duringClose.wait() }
        try shuttle(client, server)
        #expect(!client.channel.isActive)
        let afterClose = client.channel.writeAndFlush(ByteBuffer(string: "much too late"))
        #expect(throws: (any Error).self) { try afterClose.wait() }
    }

    @Test("closing during the handshake closes at once and fails the writes waiting for it")
    func closeDuringHandshake() throws {
        let client = try End(context: try contexts.client())
        let waiting = client.channel.writeAndFlush(ByteBuffer(string: "never sent"))
        try client.channel.close().wait()
        #expect(throws: ChannelError.ioOnClosedChannel) { try waiting.wait() }
        #expect(client.recorder.snapshot.tlsErrors.isEmpty)
    }
}
