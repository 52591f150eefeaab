import CRMRPC
import CRMWire
import NIOCore
import NIOEmbedded

/// The server's side of a connection, without TLS, fed the preface and then arbitrary bytes in chunks: whatever
/// arrives, the handler answers, refuses or closes, and never traps. No service is registered, so every call is
/// answered UNIMPLEMENTED on the event loop and the run stays on this thread.
enum ConnectionFuzzing {
    static func run(_ bytes: UnsafeRawBufferPointer) {
        var input = FuzzInput(bytes)
        let chunk = Int(input.choice() % 128) + 1
        let channel = EmbeddedChannel()
        let limits = ProtocolLimits.default
        do {
            let pipeline = channel.pipeline.syncOperations
            try pipeline.addHandler(ByteToMessageHandler(FrameDecoder(role: .server, limits: limits)))
            try pipeline.addHandler(makeServerConnectionHandler(limits: limits, router: MethodRouter(), interceptors: []))
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        } catch {
            preconditionFailure("an embedded connection could not be set up: \(error)")
        }
        var stream = ByteBuffer(bytes: ConnectionPreface.bytes)
        stream.writeBytes(input.rest)
        while stream.readableBytes > 0, channel.isActive {
            let piece = stream.readSlice(length: min(chunk, stream.readableBytes))!
            // A connection error closes the channel; what it wrote is the peer's business.
            do { try channel.writeInbound(piece) } catch { break }
            channel.embeddedEventLoop.run()
            while (try? channel.readOutbound(as: ByteBuffer.self)) != nil {}
        }
        _ = try? channel.finish(acceptAlreadyClosed: true)
    }
}
