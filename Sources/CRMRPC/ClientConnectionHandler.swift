import CRMTLS
import CRMWire
import NIOCore

/// The client's end of one crm/1 connection: the NIO glue around a `ConnectionCore` in the client role, and what
/// only a client does: opening a stream per call (or keeping the call waiting for the server's SETTINGS or a free
/// stream), checking what the server sends on it, and failing calls when the connection goes.
///
/// It sits after the TLS handler and the frame decoder; every frame is handled on the event loop.
final class ClientConnectionHandler: ChannelInboundHandler, ConnectionHandling {
    typealias InboundIn = Frame
    typealias OutboundOut = ByteBuffer

    /// A call waiting for the server's SETTINGS or for a stream slot (MAX_CONCURRENT_STREAMS).
    private struct WaitingCall {
        let call: any ClientStreamDelegate
        let open: () -> Void
        let timer: Scheduled<Void>?
    }

    private let readyPromise: EventLoopPromise<Void>
    private let onUnusable: @Sendable () -> Void
    var core: ConnectionCore<ClientStream>
    var timer = ConnectionTimer()
    var flushScheduled = false
    private(set) var context: ChannelHandlerContext?
    var ref: ClientConnectionRef?
    private var reportedUnusable = false
    private var nextStreamID: UInt32 = 1
    private var waiting = CircularBuffer<WaitingCall>()
    private var goAwayLastStreamID: UInt32?
    private var goAwayStatus: RPCStatus?
    private var lastError: String?

    /// - Parameters:
    ///   - readyPromise: succeeds when the server's first SETTINGS arrive, fails if the connection
    ///     closes before.
    ///   - onUnusable: called once when the connection takes no new calls (GOAWAY, close).
    init(limits: ProtocolLimits, readyPromise: EventLoopPromise<Void>, onUnusable: @escaping @Sendable () -> Void) {
        self.readyPromise = readyPromise
        self.onUnusable = onUnusable
        core = ConnectionCore(role: .client, limits: limits, now: .now())
    }


    // MARK: Lifecycle

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        _ = makeRef(eventLoop: context.eventLoop)
        if context.channel.isActive { connected() }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        connectionGone(closedHere: false)
        self.context = nil
        // The ref holds this handler: kept, it would keep the handler (and all it holds) alive for ever.
        ref = nil
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is TLSHandshakeCompleted else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        if core.tlsEstablished() { flush() }
    }

    func channelActive(context: ChannelHandlerContext) {
        connected()
        context.fireChannelActive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        switch error {
        case let error as FrameError:
            guard case .truncated = error else { return fail(ConnectionFailure(error)) }
            lastError = error.description
            closeChannel(afterError: false)
        case let error as TLSError:
            lastError = error.description
        default:
            if lastError == nil { lastError = String(describing: error) }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        connectionGone(closedHere: false)
        context.fireChannelInactive()
    }

    // MARK: Reading

    func channelReadComplete(context: ChannelHandlerContext) {
        readComplete()
        context.fireChannelReadComplete()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        receive(unwrapInboundIn(data))
    }

    func receiveStreamFrame(_ frame: Frame) throws(ConnectionFailure) {
        switch frame.type {
        case .trailers: try receiveTrailers(frame)
        case .headers: try receiveHeaders(frame)
        case .rstStream: try receiveReset(frame)
        case .message: try receiveMessage(frame)
        case .settings, .ping, .windowUpdate, .goAway: break  // the core's
        }
    }

    func react(to outcome: ConnectionCore<ClientStream>.ControlOutcome) {
        switch outcome {
        case .handled, .trailersDue:  // a client queues no trailers
            break
        case .opened:
            readyPromise.succeed(())
            openWaitingCalls()
        case .settingsChanged:
            openWaitingCalls()
        case .goAway(let goAway):
            receiveGoAway(goAway)
        }
    }

    private func receiveGoAway(_ goAway: GoAway) {
        let last = min(goAway.lastStreamID, goAwayLastStreamID ?? UInt32.max)
        goAwayLastStreamID = last
        let status = RPCStatus(goAway)
        if !status.isOK { goAwayStatus = status }
        guard !core.isClosed else { return }
        core.beginClosing()
        reportUnusable()
        let refused = CallOutcome(
            status: RPCStatus(code: .unavailable, message: "not processed: the server is going away; safe to retry"),
            notProcessed: true)
        for stream in core.streams.values.sorted(by: { $0.id < $1.id }) where stream.id.rawValue > last {
            closeStream(stream)
            stream.call.finish(refused)
        }
        failWaitingCalls(refused)
        if core.streams.isEmpty { closeChannel(afterError: false) }
    }

    private func receiveReset(_ frame: Frame) throws(ConnectionFailure) {
        let status = RPCStatus(try core.decode(frame, as: StreamReset.self))
        guard let stream = try core.openStream(for: frame) else { return }
        closeStream(stream)
        stream.call.finish(CallOutcome(status: status, notProcessed: status.message.hasPrefix("REFUSED_STREAM:")))
    }

    private func receiveHeaders(_ frame: Frame) throws(ConnectionFailure) {
        guard let stream = try core.openStream(for: frame) else { return }
        guard !stream.receivedHeaders else {
            throw ConnectionFailure(
                .protocolError, "a second HEADERS on stream \(frame.streamID); a server sends its response headers once")
        }
        let headers = try core.decode(frame, as: ResponseHeaders.self)
        stream.receivedHeaders = true
        do throws(MetadataError) {
            stream.call.receive(headers: try Metadata(validating: headers.metadata))
        } catch {
            reset(stream, RPCStatus(code: .internal, message: "the response headers break the metadata rules: \(error)"))
        }
    }

    private func receiveMessage(_ frame: Frame) throws(ConnectionFailure) {
        guard let stream = try core.receiveMessage(frame) else { return }
        guard stream.receivedHeaders else {
            throw ConnectionFailure(
                .protocolError, "MESSAGE before HEADERS on stream \(frame.streamID); a server sends its response headers first")
        }
        try core.charge(frame, to: stream)
        stream.responseCount += 1
        if stream.expectsOneResponse, stream.responseCount > 1 {
            reset(stream, RPCStatus(code: .internal, message: "a second response message on a \(Self.kindName(stream.call.kind)) call"))
            return
        }
        do throws(WireDecodingError) {
            try stream.call.receive(message: frame.payload, decoder: core.decoder)
        } catch {
            reset(stream, RPCStatus(code: .internal, message: error.description))
        }
    }

    private func receiveTrailers(_ frame: Frame) throws(ConnectionFailure) {
        guard let stream = try core.openStream(for: frame) else { return }
        let trailers = try core.decode(frame, as: Trailers.self)
        let metadata: Metadata
        do throws(MetadataError) {
            metadata = try Metadata(validating: trailers.metadata)
        } catch {
            reset(stream, RPCStatus(code: .internal, message: "the trailers break the metadata rules: \(error)"))
            return
        }
        var status = RPCStatus(trailers)
        if status.isOK, stream.expectsOneResponse, stream.responseCount == 0 {
            status = RPCStatus(code: .internal, message: "no response message for a \(Self.kindName(stream.call.kind)) call")
        }
        if !stream.receivedHeaders { stream.call.receive(headers: Metadata()) }
        closeStream(stream)
        stream.call.finish(CallOutcome(status: status, trailingMetadata: metadata))
    }

    private static func kindName(_ kind: WireCallKind) -> String {
        switch kind {
        case .unary: "unary"
        case .serverStreaming: "server-streaming"
        case .clientStreaming: "client-streaming"
        case .bidirectionalStreaming: "bidirectional"
        }
    }

    /// The caller consumed responses: return their credit.
    func responsesConsumed(on streamID: UInt32) {
        guard let stream = core.streams[streamID] else { return }
        core.consume(stream.call.takeConsumedBytes(), on: stream)
        scheduleFlush()
    }

    // MARK: Calls

    /// Opens a stream for `call`: HEADERS, then the first request if any.
    func startCall<M: WireMessage>(
        _ call: any ClientStreamDelegate, headers: RequestHeaders, deadline: NIODeadline?, firstMessage: M?,
        endStream: Bool, fromQueue: Bool = false
    ) {
        defer { scheduleFlush() }
        if call.isCancelled {
            call.finish(CallOutcome(status: .callCancelled, notProcessed: true))
            return
        }
        let mustWait: Bool
        switch core.phase {
        case .open:
            mustWait = core.streams.count >= core.peerLimits.maxConcurrentStreams || (!fromQueue && !waiting.isEmpty)
        case .handshaking, .awaitingPeerSettings:
            mustWait = true
        case .closing, .closed:
            let status = RPCStatus(code: .unavailable, message: "not processed: the connection is closing; safe to retry")
            return call.finish(CallOutcome(status: status, notProcessed: true))
        }
        guard !mustWait else {
            return wait(call, deadline: deadline) { [self] in
                startCall(call, headers: headers, deadline: deadline, firstMessage: firstMessage, endStream: endStream, fromQueue: true)
            }
        }
        var headers = headers
        if let deadline {
            let remaining = (deadline - .now()).nanoseconds
            guard remaining > 0 else {
                let status = RPCStatus(code: .deadlineExceeded, message: "the deadline passed before the call was sent")
                return call.finish(CallOutcome(status: status, notProcessed: true))
            }
            headers.timeoutMs = (remaining + 999_999) / 1_000_000
        }
        guard let id = StreamID(rawValue: nextStreamID) else {
            core.beginClosing()
            reportUnusable()
            let status = RPCStatus(code: .unavailable, message: "not processed: the connection has used every stream id; safe to retry")
            return call.finish(CallOutcome(status: status, notProcessed: true))
        }
        nextStreamID += 2
        core.claim(id)
        let headersOnly = endStream && firstMessage == nil
        do throws(OutboundFrameError) {
            try core.append(.headers, flags: headersOnly ? .endStream : [], on: id, message: headers)
        } catch {
            return call.finish(CallOutcome(status: error.status(of: .headers, from: .client), notProcessed: true))
        }
        call.opened(as: id)
        let stream = ClientStream(
            id: id, call: call, sendWindow: SendWindow(initial: core.peerLimits.initialStreamWindowSize),
            receiveWindow: ReceiveWindow(
                initial: core.limits.initialStreamWindowSize, largestMessage: core.limits.maxPayloadSize(of: .message)))
        if headersOnly { stream.state.sendEndStream() }
        core.insert(stream)
        if let deadline, let context {
            stream.deadlineTimer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
                deadlineExpired(id)
            }
        }
        if let firstMessage { send(firstMessage, endStream: endStream, on: stream, continuation: nil) }
    }

    /// The caller sends one more request.
    func sendMessage<M: WireMessage>(
        _ message: M, for call: any ClientStreamDelegate, continuation: CheckedContinuation<Void, any Error>
    ) {
        guard let stream = openStream(of: call) else {
            return continuation.resume(throwing: Self.callOver)
        }
        send(message, endStream: false, on: stream, continuation: continuation)
        scheduleFlush()
    }

    /// Sends a request if both windows allow, else queues it; one that cannot be sent at all resets the call.
    private func send<M: WireMessage>(
        _ message: M, endStream: Bool, on stream: ClientStream, continuation: CheckedContinuation<Void, any Error>?
    ) {
        do throws(OutboundFrameError) {
            try core.enqueue(message, endStream: endStream, on: stream, continuation: continuation)
        } catch {
            let failure = error.status(of: .message, from: .client)
            continuation?.resume(throwing: failure)
            reset(stream, failure)
        }
    }

    /// The caller sends no more requests.
    func halfClose(_ call: any ClientStreamDelegate) {
        guard let stream = openStream(of: call) else { return }
        core.halfClose(stream)
        flush()
    }

    /// `call`'s stream, while the call may still send.
    private func openStream(of call: any ClientStreamDelegate) -> ClientStream? {
        guard let stream = core.streams[call.streamID], stream.call === call, !stream.isEnding else { return nil }
        return stream
    }

    /// The caller cancels `call`.
    func cancel(_ call: any ClientStreamDelegate, status: RPCStatus) {
        if let stream = core.streams[call.streamID], stream.call === call {
            reset(stream, status)
            flush()
        } else if let index = waiting.firstIndex(where: { $0.call === call }) {
            let entry = waiting.remove(at: index)
            entry.timer?.cancel()
            call.finish(CallOutcome(status: status, notProcessed: true))
        }
    }

    /// The caller's task reading the responses was cancelled.
    func cancel(streamID: UInt32, status: RPCStatus) {
        guard let stream = core.streams[streamID] else { return }
        reset(stream, status)
        flush()
    }

    private func deadlineExpired(_ id: StreamID) {
        guard let stream = core.streams[id.rawValue] else { return }
        reset(stream, RPCStatus(code: .deadlineExceeded, message: "the deadline passed before the server answered"))
        flush()
    }

    private static let callOver = RPCStatus(code: .cancelled, message: "the call is over; nothing more can be sent")

    /// Ends a call from this side: RST_STREAM with `status`, and the call fails with it.
    private func reset(_ stream: ClientStream, _ status: RPCStatus) {
        guard core.streams[stream.id.rawValue] != nil else { return }
        core.frames.appendControl(.rstStream, streamID: stream.id, message: status.streamReset)
        closeStream(stream)
        stream.call.finish(CallOutcome(status: status))
    }

    // MARK: Waiting for a stream

    private func wait(_ call: any ClientStreamDelegate, deadline: NIODeadline?, open: @escaping () -> Void) {
        var timer: Scheduled<Void>?
        if let deadline, let context {
            timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
                guard let index = waiting.firstIndex(where: { $0.call === call }) else { return }
                waiting.remove(at: index)
                let limit = core.peerLimits.maxConcurrentStreams
                let message = "the deadline passed while the call waited for a stream (the server allows \(limit) at once)"
                call.finish(CallOutcome(status: RPCStatus(code: .deadlineExceeded, message: message), notProcessed: true))
            }
        }
        waiting.append(WaitingCall(call: call, open: open, timer: timer))
    }

    private func openWaitingCalls() {
        guard case .open = core.phase else { return }
        while !waiting.isEmpty, core.streams.count < core.peerLimits.maxConcurrentStreams {
            let entry = waiting.removeFirst()
            entry.timer?.cancel()
            entry.open()
        }
    }

    private func failWaitingCalls(_ outcome: CallOutcome) {
        while let entry = waiting.popFirst() {
            entry.timer?.cancel()
            entry.call.finish(outcome)
        }
    }

    // MARK: Closing

    private func closeStream(_ stream: ClientStream) {
        guard core.remove(stream, failingWritesWith: Self.callOver, now: now) else { return }
        switch core.phase {
        case .open:
            openWaitingCalls()
        case .closing:
            if core.streams.isEmpty { closeChannel(afterError: false) }
        case .handshaking, .awaitingPeerSettings, .closed:
            break
        }
    }

    /// Stops taking calls: GOAWAY to the server, the open calls finish, then the connection closes.
    func beginClose() {
        switch core.phase {
        case .closed:
            return
        case .handshaking, .awaitingPeerSettings:
            return closeChannel(afterError: false)
        case .open, .closing:
            break
        }
        core.appendGoAway(GoAway(lastStreamID: 0, statusCode: .ok, message: "client closing"))
        core.beginClosing()
        reportUnusable()
        let status = RPCStatus(code: .unavailable, message: "not processed: the client is closing; safe to retry")
        failWaitingCalls(CallOutcome(status: status, notProcessed: true))
        if core.streams.isEmpty { closeChannel(afterError: false) } else { flush() }
    }

    func expired(_ expiry: ConnectionCore<ClientStream>.Expiry) {
        switch expiry {
        case .handshakeTimeout(let timeout):
            lastError =
                "the TLS handshake and the server's first SETTINGS did not complete within \(timeout.wholeMilliseconds) ms"
            closeChannel(afterError: false)
        case .gracePeriodOver, .pingSent:  // a client has no grace period
            break
        case .keepaliveTimeout(let failure):
            fail(failure)
        case .idle(let timeout):
            guard waiting.isEmpty else { return }
            core.appendGoAway(GoAway(lastStreamID: 0, statusCode: .ok, message: "idle for \(timeout.wholeMilliseconds) ms"))
            closeChannel(afterError: false)
        }
    }

    func fail(_ failure: ConnectionFailure) {
        guard !core.isClosed else { return }
        lastError = failure.status.message
        core.appendGoAway(failure.status.goAway(lastStreamID: .connection))
        closeChannel(afterError: true)
    }

    /// Fails everything still open: the connection is closed or closing.
    func connectionGone(closedHere: Bool) {
        core.close()
        timer.cancel()
        reportUnusable()
        let reason = goAwayStatus?.message ?? lastError ?? "the connection closed before the call finished"
        let status = RPCStatus(code: .unavailable, message: reason)
        readyPromise.fail(
            RPCStatus(code: .unavailable, message: "the connection closed before the server's SETTINGS arrived: \(reason)"))
        for stream in core.removeAll(failingWritesWith: status) {
            stream.call.finish(CallOutcome(status: status))
        }
        failWaitingCalls(
            CallOutcome(status: RPCStatus(code: .unavailable, message: "not processed: \(reason); safe to retry"), notProcessed: true))
    }

    private func reportUnusable() {
        guard !reportedUnusable else { return }
        reportedUnusable = true
        onUnusable()
    }
}
