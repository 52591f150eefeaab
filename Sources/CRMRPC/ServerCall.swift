import CRMWire
import NIOCore

/// What the connection does after it hands a stream event to its call.
enum ServerCallAction {
    /// Nothing more.
    case proceed
    /// The message's bytes were consumed at once: return their credit.
    case consumed(Int)
    /// End the call with TRAILERS carrying this status (the handler does not run or is cancelled).
    case fail(RPCStatus)
}

/// One call on the server as its connection sees it, its message types erased. Lives on the
/// connection's event loop.
protocol ServerCallHandler: AnyObject {
    /// The client's HEADERS arrived, with END_STREAM or not.
    func start(endStream: Bool) -> ServerCallAction
    /// A MESSAGE carrying a request arrived; `payload` is a slice of the bytes read.
    func receiveMessage(_ payload: ByteBuffer, decoder: WireDecoder) -> ServerCallAction
    /// The client half-closed.
    func receiveEndStream() -> ServerCallAction
    /// The stream is closed: stop the handler if it runs and fail its request stream with `status`.
    func close(_ status: RPCStatus)
    /// The request bytes the handler consumed since the last call.
    func takeConsumedBytes() -> Int
}

/// The typed half of a call: decodes requests and runs the handler in a task, with the
/// interceptors around it. Event-loop confined; the task reaches the connection through
/// `ServerConnectionRef`.
final class ServerCall<Request: WireMessage, Response: WireMessage>: ServerCallHandler {
    private let method: ServerMethod<Request, Response>
    private let streamID: StreamID
    private let context: RPCContext
    private let connection: ServerConnectionRef
    private let interceptors: InterceptorChain
    private var requestCount = 0
    private var queue: InboundMessageQueue<Request>?
    private var task: Task<Void, Never>?

    init(
        method: ServerMethod<Request, Response>, streamID: StreamID, context: RPCContext,
        connection: ServerConnectionRef, interceptors: InterceptorChain
    ) {
        self.method = method
        self.streamID = streamID
        self.context = context
        self.connection = connection
        self.interceptors = interceptors
    }

    func start(endStream: Bool) -> ServerCallAction {
        let writer = ResponseWriter<Response>(streamID: streamID, connection: connection)
        switch method.body {
        case .unary, .serverStreaming:
            return endStream ? .fail(countError(got: "none")) : .proceed
        case .clientStreaming(let handler):
            let requests = RequestStream(queue: makeQueue(finished: endStream))
            launch(onEventLoop: method.runsOnEventLoop) { context in try await handler(requests, context) }
        case .bidirectional(let handler):
            let requests = RequestStream(queue: makeQueue(finished: endStream))
            launch { context in
                try await handler(requests, writer, context)
                return nil
            }
        }
        return .proceed
    }

    func receiveMessage(_ payload: ByteBuffer, decoder: WireDecoder) -> ServerCallAction {
        requestCount += 1
        let size = payload.readableBytes
        let request: Request
        do throws(WireDecodingError) {
            request = try payload.decodeWireMessage(Request.self, using: decoder)
        } catch {
            return .fail(RPCStatus(code: .invalidArgument, message: error.description))
        }
        switch method.body {
        case .unary(let handler):
            guard requestCount == 1 else { return .fail(countError(got: "more")) }
            launch(onEventLoop: method.runsOnEventLoop) { context in try await handler(request, context) }
            return .consumed(size)
        case .serverStreaming(let handler):
            guard requestCount == 1 else { return .fail(countError(got: "more")) }
            let writer = ResponseWriter<Response>(streamID: streamID, connection: connection)
            launch { context in
                // The client's call returns once the response headers arrive; a handler that waits
                // for something to send (a watch) must not hold them back until its first message.
                writer.sendHeaders()
                try await handler(request, writer, context)
                return nil
            }
            return .consumed(size)
        case .clientStreaming, .bidirectional:
            queue?.push(request, size: size)
            return .proceed
        }
    }

    func receiveEndStream() -> ServerCallAction {
        switch method.body {
        case .unary, .serverStreaming:
            return requestCount == 0 ? .fail(countError(got: "none")) : .proceed
        case .clientStreaming, .bidirectional:
            queue?.finish(.success(()))
            return .proceed
        }
    }

    func close(_ status: RPCStatus) {
        queue?.finish(.failure(status))
        task?.cancel()
    }

    func takeConsumedBytes() -> Int {
        queue?.takeUnreportedBytes() ?? 0
    }

    private func makeQueue(finished: Bool) -> InboundMessageQueue<Request> {
        let connection = self.connection
        let streamID = self.streamID
        let queue = InboundMessageQueue<Request>(report: {
            connection.execute { $0.requestsConsumed(on: streamID) }
        })
        if finished { queue.finish(.success(())) }
        self.queue = queue
        return queue
    }

    private func countError(got: String) -> RPCStatus {
        let kind = method.registration.info.kind == .unary ? "a unary" : "a server-streaming"
        return RPCStatus(
            code: .internal, message: "expected exactly one request message for \(kind) call, got \(got)")
    }

    /// Runs the handler in a task with the interceptors around it; its outcome goes back to the
    /// connection, which sends the response and the trailers.
    /// - Parameter onEventLoop: run the handler on the connection's event loop (registered so,
    ///   and only for unary and client-streaming: one response, no writer), which saves two
    ///   thread hops per call. Never for handlers with a writer: a loop of writes would keep the
    ///   event loop busy with their jobs (NIO runs queued tasks until none is left before it
    ///   polls for I/O again).
    private func launch(onEventLoop: Bool = false, _ body: @escaping @Sendable (RPCContext) async throws -> Response?) {
        let connection = self.connection
        let streamID = self.streamID
        let context = self.context
        let interceptors = self.interceptors
        task = Task(executorPreference: onEventLoop ? connection.executor : globalConcurrentExecutor) {
            var response: Response? = nil
            var status = RPCStatus.ok
            do {
                try await interceptors.run(context: context) {
                    response = try await body(context)
                }
            } catch let error as RPCStatus {
                status = error
            } catch is CancellationError {
                status = RPCStatus(code: .cancelled, message: "the handler of \(context.method.path) was cancelled")
            } catch {
                status = RPCStatus(
                    code: .unknown,
                    message: "the handler of \(context.method.path) failed with an error of type \(type(of: error))")
            }
            let outcome = status
            let message = status.isOK ? response : nil
            if connection.eventLoop.inEventLoop {
                connection.handler.value.callFinished(on: streamID, status: outcome, response: message)
            } else {
                connection.execute { $0.callFinished(on: streamID, status: outcome, response: message) }
            }
        }
    }
}
