@testable import CRMRPC
import CRMTLS
import CRMWire
import NIOCore
import NIOEmbedded
import Testing

/// A write that fails closes the channel at once, inside the handler's own flush (NIO fires `channelInactive` while
/// `flush` runs: a peer that reset its TCP connection, a TLS error). The handler must take that re-entry: its state
/// is not held across the write.
@Suite("A write that fails mid-flush")
struct WriteFailureTests {
    @Test("a handler of either role closes cleanly when its own flush closes the channel", arguments: [ConnectionRole.server, .client])
    func closeDuringFlush(role: ConnectionRole) throws {
        let channel = EmbeddedChannel()
        let handler: any ChannelHandler
        switch role {
        case .server:
            handler = ServerConnectionHandler(limits: .default, router: MethodRouter(), interceptors: [])
        case .client:
            handler = ClientConnectionHandler(limits: .default, readyPromise: channel.eventLoop.makePromise()) {}
        }
        try channel.pipeline.syncOperations.addHandlers([CloseOnFlush(), handler])
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 7443)).wait()
        // TLS done: the handler sends its SETTINGS (and the client its preface) and flushes; the flush closes.
        channel.pipeline.fireUserInboundEventTriggered(
            TLSHandshakeCompleted(alpn: "crm/1", protocolVersion: "TLSv1.3", cipherSuite: "TLS_AES_128_GCM_SHA256", peerCertificate: nil))
        #expect(!channel.isActive)
        _ = try? channel.finish()
    }
}

/// Closes the channel from inside the flush, as a socket whose write failed does.
private final class CloseOnFlush: ChannelOutboundHandler {
    typealias OutboundIn = ByteBuffer

    func flush(context: ChannelHandlerContext) {
        context.close(promise: nil)
    }
}
