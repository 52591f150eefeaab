public import CRMWire
import NIOCore

/// Keeps a client call alive while its caller holds it: when the last handle goes away before
/// the call is over, the call is cancelled (RST_STREAM CANCELLED).
final class CallLifetime<Response: Sendable>: Sendable {
    let responses: InboundMessageQueue<Response>
    let headers: @Sendable () async throws -> Metadata
    let outcome: EventLoopFuture<CallOutcome>
    let cancel: @Sendable () -> Void
    let isFinished: @Sendable () -> Bool

    init<Request>(_ call: ClientCall<Request, Response>) {
        responses = call.responses
        headers = { try await call.headers() }
        outcome = call.outcomeFuture
        cancel = { call.cancel() }
        isFinished = { call.isFinished }
    }

    deinit {
        if !isFinished() { cancel() }
    }
}

/// The responses of a server-streaming or bidirectional call, in order.
///
/// Iterating ends when the call ends with OK, and throws its `RPCStatus` otherwise (after the
/// messages that arrived before it). Reading is what returns flow-control credit to the server:
/// a caller that stops reading makes the server's handler wait once the window is full. Dropping
/// the stream before its end cancels the call; so does cancelling the task that iterates.
public struct ResponseStream<Message: WireMessage>: AsyncSequence, Sendable {
    public typealias Element = Message
    public typealias Failure = any Error

    let lifetime: CallLifetime<Message>

    init(lifetime: CallLifetime<Message>) {
        self.lifetime = lifetime
    }

    /// The response headers' metadata, once they arrive.
    public func metadata() async throws -> Metadata {
        try await lifetime.headers()
    }

    /// The trailers' metadata, once the call is over.
    public func trailingMetadata() async throws -> Metadata {
        try await lifetime.outcome.get().trailingMetadata
    }

    /// The call's status, once it is over.
    public func status() async throws -> RPCStatus {
        try await lifetime.outcome.get().status
    }

    /// Cancels the call: RST_STREAM CANCELLED; iterating then throws CANCELLED.
    public func cancel() {
        lifetime.cancel()
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(lifetime: lifetime)
    }

    /// Reads the responses one by one.
    public struct AsyncIterator: AsyncIteratorProtocol {
        let lifetime: CallLifetime<Message>

        public mutating func next() async throws -> Message? {
            try await lifetime.responses.next()
        }
    }
}

/// Writes the requests of a client-streaming or bidirectional call.
public struct RequestWriter<Message: WireMessage>: Sendable {
    let sendMessage: @Sendable (Message) async throws -> Void
    let halfClose: @Sendable () -> Void

    /// Sends one request; suspends while the server's flow-control window is full.
    ///
    /// - Throws: the call's `RPCStatus` when it is over (the server ended it early, the deadline
    ///   passed, or it was cancelled).
    public func write(_ message: Message) async throws {
        try await sendMessage(message)
    }

    /// Tells the server that no more requests follow (END_STREAM).
    public func finish() {
        halfClose()
    }
}

/// A bidirectional call: write requests with `requests`, read responses from `responses`,
/// independently. Call `requests.finish()` when done writing.
public struct BidirectionalCall<Request: WireMessage, Response: WireMessage>: Sendable {
    /// Where the requests go.
    public let requests: RequestWriter<Request>
    /// The responses, in order.
    public let responses: ResponseStream<Response>

    /// Cancels the call: RST_STREAM CANCELLED.
    public func cancel() {
        responses.cancel()
    }
}

/// A unary or client-streaming call's response with the metadata around it.
public struct ClientResponse<Message: WireMessage>: Sendable {
    /// The response message.
    public var message: Message
    /// The response headers' metadata.
    public var metadata: Metadata
    /// The trailers' metadata.
    public var trailingMetadata: Metadata
}
