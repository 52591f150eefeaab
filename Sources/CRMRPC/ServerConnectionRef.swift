import NIOCore

/// How tasks reach a server connection's handler: on its event loop only.
struct ServerConnectionRef: Sendable {
    let eventLoop: any EventLoop
    let handler: NIOLoopBound<ServerConnectionHandler>
    /// Runs handler tasks on the connection's event loop thread: no thread hop per call.
    let executor: EventLoopTaskExecutor

    init(eventLoop: any EventLoop, handler: NIOLoopBound<ServerConnectionHandler>) {
        self.eventLoop = eventLoop
        self.handler = handler
        self.executor = EventLoopTaskExecutor(eventLoop: eventLoop)
    }

    /// Runs `body` with the handler on its event loop, later.
    func execute(_ body: @escaping @Sendable (ServerConnectionHandler) -> Void) {
        let handler = self.handler
        eventLoop.execute { body(handler.value) }
    }
}
