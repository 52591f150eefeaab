import NIOCore

/// How tasks reach a connection's handler: on its event loop only.
struct ConnectionRef<Handler: AnyObject>: Sendable {
    let eventLoop: any EventLoop
    let handler: NIOLoopBound<Handler>
    /// Runs a server's handler tasks on the connection's event loop thread: no thread hop per call.
    let executor: EventLoopTaskExecutor

    init(eventLoop: any EventLoop, handler: NIOLoopBound<Handler>) {
        self.eventLoop = eventLoop
        self.handler = handler
        self.executor = EventLoopTaskExecutor(eventLoop: eventLoop)
    }

    /// Runs `body` with the handler on its event loop, later.
    func execute(_ body: @escaping @Sendable (Handler) -> Void) {
        let handler = self.handler
        eventLoop.execute { body(handler.value) }
    }
}

/// How a server's calls reach their connection.
typealias ServerConnectionRef = ConnectionRef<ServerConnectionHandler>
/// How a client's calls reach their connection.
typealias ClientConnectionRef = ConnectionRef<ClientConnectionHandler>
