/// The requests of a client-streaming or bidirectional call, as the handler reads them.
///
/// Ends when the client half-closes. Throws `RPCStatus` CANCELLED when the call is cancelled.
/// Reading is what returns flow-control credit to the client: a handler that stops reading
/// makes the client wait once the stream's window is full.
public struct RequestStream<Message: Sendable>: AsyncSequence, Sendable {
    public typealias Element = Message
    public typealias Failure = any Error

    let queue: InboundMessageQueue<Message>

    init(queue: InboundMessageQueue<Message>) {
        self.queue = queue
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(queue: queue)
    }

    /// Reads the requests one by one.
    public struct AsyncIterator: AsyncIteratorProtocol {
        let queue: InboundMessageQueue<Message>

        public mutating func next() async throws -> Message? {
            try await queue.next()
        }
    }
}
