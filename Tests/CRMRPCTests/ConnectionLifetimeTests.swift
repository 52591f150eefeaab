@testable import CRMRPC
import CRMWire
import NIOCore
import NIOEmbedded
import Testing

/// A connection's handler, and all it holds, is freed once its channel is gone: a server that took a million
/// connections, or a client that retried a million connects, holds none of them afterwards.
@Suite("Connection lifetime")
struct ConnectionLifetimeTests {
    @Test("the server's handler of a closed connection is freed, though its ref was handed out")
    func serverHandlerIsFreed() throws {
        weak var freed: ServerConnectionHandler?
        do {
            let channel = EmbeddedChannel()
            let handler = ServerConnectionHandler(limits: .default, router: MethodRouter(), interceptors: [])
            freed = handler
            // As RPCServer does for its registry of connections.
            _ = handler.makeRef(eventLoop: channel.eventLoop)
            try channel.pipeline.syncOperations.addHandler(handler)
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 7443)).wait()
            _ = try channel.finish(acceptAlreadyClosed: true)
        }
        #expect(freed == nil, "the handler outlived its connection")
    }

    @Test("the client's handler of a connection that closed, or never connected, is freed")
    func clientHandlerIsFreed() throws {
        for connects in [true, false] {
            weak var freed: ClientConnectionHandler?
            do {
                let channel = EmbeddedChannel()
                let ready = channel.eventLoop.makePromise(of: Void.self)
                let handler = ClientConnectionHandler(limits: .default, readyPromise: ready) {}
                freed = handler
                // As the connection manager does for its ClientConnection.
                _ = handler.makeRef(eventLoop: channel.eventLoop)
                try channel.pipeline.syncOperations.addHandler(handler)
                if connects { try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 7443)).wait() }
                _ = try channel.finish(acceptAlreadyClosed: true)
                ready.futureResult.whenComplete { _ in }
            }
            #expect(freed == nil, "the handler outlived its connection (connected: \(connects))")
        }
    }
}
