import NIOCore

/// How tasks reach a client connection's handler: on its event loop only.
struct ClientConnectionRef: Sendable {
    let eventLoop: any EventLoop
    let handler: NIOLoopBound<ClientConnectionHandler>

    /// Runs `body` with the handler on its event loop, later.
    func execute(_ body: @escaping @Sendable (ClientConnectionHandler) -> Void) {
        let handler = self.handler
        eventLoop.execute { body(handler.value) }
    }
}
