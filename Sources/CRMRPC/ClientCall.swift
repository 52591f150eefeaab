import CRMWire
import NIOCore
import Synchronization

/// How a call ended, as the client sees it.
struct CallOutcome: Sendable {
    /// The call's status.
    var status: RPCStatus
    /// The trailers' metadata; empty when the call was reset or failed locally.
    var trailingMetadata: Metadata
    /// True when the server never processed the request (refused, above a GOAWAY's last stream,
    /// or never sent): safe to retry whatever the method.
    var notProcessed: Bool

    init(status: RPCStatus, trailingMetadata: Metadata = Metadata(), notProcessed: Bool = false) {
        self.status = status
        self.trailingMetadata = trailingMetadata
        self.notProcessed = notProcessed
    }
}

/// One call on the client as its connection sees it, its message types erased.
protocol ClientStreamDelegate: AnyObject, Sendable {
    /// The method's call kind: it fixes how many responses are allowed.
    var kind: WireCallKind { get }
    /// The stream id the connection gave the call; 0 before it is opened.
    var streamID: UInt32 { get }
    /// Whether the caller cancelled the call before it was opened.
    var isCancelled: Bool { get }
    /// Sets the stream id; on the event loop, once.
    func opened(as streamID: StreamID)
    /// The response headers arrived (or a trailers-only answer: empty).
    func receive(headers: Metadata)
    /// A response MESSAGE arrived; decodes it and hands it to the caller.
    func receive(message payload: ByteBuffer, decoder: WireDecoder) throws(WireDecodingError)
    /// The call is over.
    func finish(_ outcome: CallOutcome)
    /// The response bytes the caller consumed since the last call.
    func takeConsumedBytes() -> Int
}

/// The typed state of one client call, shared by the caller's task and the connection's event
/// loop: responses wait in a queue, headers and outcome are promises.
final class ClientCall<Request: WireMessage, Response: WireMessage>: ClientStreamDelegate {
    let kind: WireCallKind
    let connection: ClientConnectionRef
    /// The queue of a streaming call's responses (server-streaming, bidirectional).
    private let responseQueue: InboundMessageQueue<Response>?
    var responses: InboundMessageQueue<Response> { responseQueue! }
    /// The one response of a unary or client-streaming call: no queue, no consumption report
    /// (closing the stream returns its credit).
    private let singleResponse = Mutex<Response?>(nil)
    private let headersPromise: EventLoopPromise<Metadata>
    private let outcomePromise: EventLoopPromise<CallOutcome>
    private let id: IDCell
    private let receivedHeaders = Mutex<Metadata?>(nil)

    /// The stream id, readable from any thread.
    final class IDCell: Sendable {
        let value = Atomic<UInt32>(0)
        let cancelled = Atomic<Bool>(false)
        let finished = Atomic<Bool>(false)
    }

    init(kind: WireCallKind, connection: ClientConnectionRef) {
        self.kind = kind
        self.connection = connection
        let id = IDCell()
        self.id = id
        headersPromise = connection.eventLoop.makePromise()
        outcomePromise = connection.eventLoop.makePromise()
        let streamsResponses = kind == .serverStreaming || kind == .bidirectionalStreaming
        responseQueue = !streamsResponses ? nil : InboundMessageQueue(
            report: {
                connection.execute { $0.responsesConsumed(on: id.value.load(ordering: .relaxed)) }
            },
            onCancel: {
                id.cancelled.store(true, ordering: .relaxed)
                connection.execute {
                    $0.cancel(streamID: id.value.load(ordering: .relaxed), status: ClientCall.cancelledStatus)
                }
            })
    }

    static var cancelledStatus: RPCStatus { .callCancelled }

    // MARK: ClientStreamDelegate (event loop)

    var streamID: UInt32 { id.value.load(ordering: .relaxed) }
    var isCancelled: Bool { id.cancelled.load(ordering: .relaxed) }

    func opened(as streamID: StreamID) {
        id.value.store(streamID.rawValue, ordering: .relaxed)
    }

    func receive(headers: Metadata) {
        receivedHeaders.withLock { $0 = headers }
        headersPromise.succeed(headers)
    }

    /// The response headers if they have arrived, without waiting (and without a hop to the
    /// event loop, which `headers()` on a completed future still costs).
    var headersIfReceived: Metadata? { receivedHeaders.withLock { $0 } }

    func receive(message payload: ByteBuffer, decoder: WireDecoder) throws(WireDecodingError) {
        let response = try payload.decodeWireMessage(Response.self, using: decoder)
        if let responseQueue {
            responseQueue.push(response, size: payload.readableBytes)
        } else {
            singleResponse.withLock { $0 = response }
        }
    }

    func finish(_ outcome: CallOutcome) {
        id.finished.store(true, ordering: .releasing)
        headersPromise.fail(outcome.status)
        outcomePromise.succeed(outcome)
        guard let responseQueue else { return }
        if outcome.status.isOK {
            responseQueue.finish(.success(()))
        } else {
            // Messages already received are still delivered, then the status (section 8.2).
            responseQueue.finish(.failure(outcome.status), discardBuffered: false)
        }
    }

    func takeConsumedBytes() -> Int {
        responseQueue?.takeUnreportedBytes() ?? 0
    }

    // MARK: Caller side

    /// Opens the stream, sending HEADERS and, if given, the first request.
    func start(headers: RequestHeaders, deadline: NIODeadline?, firstMessage: Request?, endStream: Bool) {
        connection.execute { [self] handler in
            handler.startCall(self, headers: headers, deadline: deadline, firstMessage: firstMessage, endStream: endStream)
        }
    }

    /// Sends one request; returns once it is on its way (within the flow-control windows).
    ///
    /// - Throws: the call's status when it is over (the server ended it, or it was cancelled).
    func send(_ message: Request) async throws {
        do {
            try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                    connection.execute { [self] handler in
                        handler.sendMessage(message, for: self, continuation: continuation)
                    }
                }
            } onCancel: {
                cancel()
            }
        } catch {
            if isFinished { throw await outcome().status }
            throw error
        }
    }

    /// The outcome, as a future, for the caller's handles.
    var outcomeFuture: EventLoopFuture<CallOutcome> { outcomePromise.futureResult }

    /// Half-closes: no more requests.
    func finishRequests() {
        connection.execute { [self] handler in handler.halfClose(self) }
    }

    /// Cancels the call: RST_STREAM CANCELLED if it is open, and the call fails with CANCELLED.
    func cancel(_ status: RPCStatus = ClientCall.cancelledStatus) {
        id.cancelled.store(true, ordering: .relaxed)
        connection.execute { [self] handler in handler.cancel(self, status: status) }
    }

    /// The response headers, once they arrive.
    func headers() async throws -> Metadata {
        try await headersPromise.futureResult.get()
    }

    /// How the call ended.
    func outcome() async -> CallOutcome {
        do {
            return try await outcomePromise.futureResult.get()
        } catch {
            return CallOutcome(status: RPCStatus(code: .internal, message: "the call's outcome was lost: \(error)"))
        }
    }

    /// The response of a unary or client-streaming call, once its outcome is known.
    func takeSingleResponse() -> Response? {
        singleResponse.withLock { $0.take() }
    }

    /// Whether the call has ended.
    var isFinished: Bool {
        id.finished.load(ordering: .acquiring)
    }
}

extension RPCStatus {
    /// The status of a call its caller cancelled.
    static let callCancelled = RPCStatus(code: .cancelled, message: "the call was cancelled by the caller")
}
