import CRMTLS
import CRMWire
import NIOCore

/// The client's end of one crm/1 connection: opens a stream per call, enforces the server's
/// limits and windows, checks what the server sends, and fails calls when the connection goes.
///
/// It sits after the TLS handler and the frame decoder; every frame is handled on the event loop.
final class ClientConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = Frame
    typealias OutboundOut = ByteBuffer

    private enum State {
        /// TLS is not done.
        case handshaking
        /// Preface and SETTINGS sent; the server's first SETTINGS have not arrived.
        case awaitingServerSettings
        /// Calls may start.
        case ready
        /// GOAWAY received or sent: no new streams; closes when the last one ends.
        case goingAway
        /// Closing or closed.
        case closed
    }

    /// A call waiting for the server's SETTINGS or for a stream slot (MAX_CONCURRENT_STREAMS).
    private struct WaitingCall {
        let call: any ClientStreamDelegate
        let open: () -> Void
        let timer: Scheduled<Void>?
    }

    private let limits: ProtocolLimits
    private let decoder: WireDecoder
    private let readyPromise: EventLoopPromise<Void>
    private let onUnusable: @Sendable () -> Void
    private var state = State.handshaking
    private var context: ChannelHandlerContext?
    private var frames: OutboundFrames?
    private var ref: ClientConnectionRef?
    private var reportedUnusable = false

    private var peerLimits = ProtocolLimits.default
    private var receivedServerSettings = false
    private var unacknowledgedSettings = 0

    private var streams: [UInt32: ClientStream] = [:]
    private var nextStreamID: UInt32 = 1
    private var waiting = CircularBuffer<WaitingCall>()
    private var connectionReceive: ReceiveWindow
    private var connectionSend = SendWindow(initial: ProtocolLimits.default.connectionWindowSize)
    private var blockedStreams = CircularBuffer<UInt32>()
    private var goAwayLastStreamID: UInt32?
    private var goAwayStatus: RPCStatus?
    private var lastError: String?

    private var settingsTimer: Scheduled<Void>?
    private var idleTimer: Scheduled<Void>?
    private var keepaliveTimer: Scheduled<Void>?
    private var keepaliveTimeoutTimer: Scheduled<Void>?
    private var lastReadTime = NIODeadline.now()
    private var outstandingPing: UInt64?

    /// - Parameters:
    ///   - readyPromise: succeeds when the server's first SETTINGS arrive, fails if the connection
    ///     closes before.
    ///   - onUnusable: called once when the connection takes no new calls (GOAWAY, close).
    init(limits: ProtocolLimits, readyPromise: EventLoopPromise<Void>, onUnusable: @escaping @Sendable () -> Void) {
        self.limits = limits
        self.readyPromise = readyPromise
        self.onUnusable = onUnusable
        decoder = WireDecoder(limits: limits.wireLimits)
        connectionReceive = ReceiveWindow(
            initial: limits.connectionWindowSize, largestMessage: limits.maxPayloadSize(of: .message))
    }

    func makeRef(eventLoop: any EventLoop) -> ClientConnectionRef {
        if let ref { return ref }
        let ref = ClientConnectionRef(eventLoop: eventLoop, handler: NIOLoopBound(self, eventLoop: eventLoop))
        self.ref = ref
        return ref
    }

    // MARK: Lifecycle

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        lastReadTime = context.eventLoop.now
        frames = OutboundFrames(allocator: context.channel.allocator)
        _ = makeRef(eventLoop: context.eventLoop)
        if context.channel.isActive { startSettingsTimer(context: context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        connectionGone()
        self.context = nil
        // The ref holds this handler: kept, it would keep the handler (and all it holds) alive for ever.
        ref = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        startSettingsTimer(context: context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        connectionGone()
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is TLSHandshakeCompleted {
            guard case .handshaking = state else { return }
            frames?.appendPreface()
            frames?.appendControl(.settings, streamID: .connection, message: limits.settings)
            unacknowledgedSettings += 1
            state = .awaitingServerSettings
            flush()
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        switch error {
        case let error as FrameError:
            if case .truncated = error {
                lastError = error.description
                closeConnection()
            } else {
                fail(ConnectionFailure(error))
            }
        case let error as TLSError:
            lastError = error.description
        default:
            if lastError == nil { lastError = String(describing: error) }
        }
    }

    // MARK: Reading

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch state {
        case .closed, .handshaking:
            return
        case .awaitingServerSettings, .ready, .goingAway:
            break
        }
        do throws(ConnectionFailure) {
            try handle(frame)
        } catch {
            fail(error)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        lastReadTime = context.eventLoop.now
        flush()
        context.fireChannelReadComplete()
    }

    private func handle(_ frame: Frame) throws(ConnectionFailure) {
        switch frame.type {
        case .headers: try receiveHeaders(frame)
        case .message: try receiveMessage(frame)
        case .trailers: try receiveTrailers(frame)
        case .rstStream: try receiveReset(frame)
        case .windowUpdate: try receiveWindowUpdate(frame)
        case .settings: try receiveSettings(frame)
        case .ping: try receivePing(frame)
        case .goAway: try receiveGoAway(frame)
        }
    }

    private func receiveSettings(_ frame: Frame) throws(ConnectionFailure) {
        let settings: Settings
        do throws(FrameError) {
            settings = try frame.decodeSettings(using: decoder)
        } catch {
            throw ConnectionFailure(error)
        }
        if settings.ack {
            guard unacknowledgedSettings > 0 else {
                throw ConnectionFailure(
                    .protocolError, "a SETTINGS acknowledgement arrived but no SETTINGS frame of the client awaits one")
            }
            unacknowledgedSettings -= 1
            return
        }
        do throws(FrameError) {
            peerLimits = try peerLimits.applying(settings, isFirst: !receivedServerSettings)
        } catch {
            throw ConnectionFailure(error)
        }
        frames?.appendControl(.settings, flags: .ack, streamID: .connection, message: Settings(ack: true))
        if receivedServerSettings {
            openWaitingCalls()
            return
        }
        receivedServerSettings = true
        connectionSend = SendWindow(initial: peerLimits.connectionWindowSize)
        settingsTimer?.cancel()
        settingsTimer = nil
        if case .awaitingServerSettings = state { state = .ready }
        readyPromise.succeed(())
        scheduleKeepalive(in: limits.keepaliveInterval)
        openWaitingCalls()
        if streams.isEmpty { startIdleTimer() }
    }

    private func receivePing(_ frame: Frame) throws(ConnectionFailure) {
        let ping: Ping
        do throws(FrameError) {
            ping = try frame.decodePing(using: decoder)
        } catch {
            throw ConnectionFailure(error)
        }
        if !ping.ack {
            frames?.appendControl(
                .ping, flags: .ack, streamID: .connection, message: Ping(opaqueData: ping.opaqueData, ack: true))
        } else if ping.opaqueData == outstandingPing {
            outstandingPing = nil
            keepaliveTimeoutTimer?.cancel()
            keepaliveTimeoutTimer = nil
        }
    }

    private func receiveGoAway(_ frame: Frame) throws(ConnectionFailure) {
        let goAway: GoAway
        do throws(FrameError) {
            goAway = try frame.decodeControlPayload(as: GoAway.self, using: decoder)
        } catch {
            throw ConnectionFailure(error)
        }
        let last = min(goAway.lastStreamID, goAwayLastStreamID ?? UInt32.max)
        goAwayLastStreamID = last
        let status = RPCStatus(goAway)
        if !status.isOK { goAwayStatus = status }
        switch state {
        case .closed: return
        case .handshaking, .awaitingServerSettings, .ready, .goingAway: state = .goingAway
        }
        reportUnusable()
        let refused = RPCStatus(code: .unavailable, message: "not processed: the server is going away; safe to retry")
        for stream in streams.values.sorted(by: { $0.id < $1.id }) where stream.id.rawValue > last {
            closeStream(stream)
            stream.call.finish(CallOutcome(status: refused, notProcessed: true))
        }
        failWaitingCalls(CallOutcome(status: refused, notProcessed: true))
        if streams.isEmpty { closeConnection() }
    }

    private func receiveWindowUpdate(_ frame: Frame) throws(ConnectionFailure) {
        let update: WindowUpdate
        do throws(FrameError) {
            update = try frame.decodeWindowUpdate(using: decoder)
        } catch {
            throw ConnectionFailure(error)
        }
        let id = frame.streamID.rawValue
        if id == 0 {
            guard connectionSend.grant(update.incrementBytes) else {
                throw ConnectionFailure(
                    .flowControlError,
                    "a WINDOW_UPDATE of \(update.incrementBytes) bytes would take the connection window over 2147483647 bytes")
            }
            drainBlockedStreams()
            return
        }
        try checkOpened(frame)
        guard let stream = streams[id] else { return }
        guard stream.sendWindow.grant(update.incrementBytes) else {
            throw ConnectionFailure(
                .flowControlError,
                "a WINDOW_UPDATE of \(update.incrementBytes) bytes would take the window of stream \(id) over 2147483647 bytes")
        }
        drain(stream)
    }

    private func receiveReset(_ frame: Frame) throws(ConnectionFailure) {
        let reset: StreamReset
        do throws(FrameError) {
            reset = try frame.decodeControlPayload(as: StreamReset.self, using: decoder)
        } catch {
            throw ConnectionFailure(error)
        }
        try checkOpened(frame)
        guard let stream = streams[frame.streamID.rawValue] else { return }
        let status = RPCStatus(reset)
        closeStream(stream)
        stream.call.finish(CallOutcome(status: status, notProcessed: status.message.hasPrefix("REFUSED_STREAM:")))
    }

    private func receiveHeaders(_ frame: Frame) throws(ConnectionFailure) {
        try checkOpened(frame)
        guard let stream = streams[frame.streamID.rawValue] else { return }
        guard !stream.receivedHeaders else {
            throw ConnectionFailure(
                .protocolError, "a second HEADERS on stream \(frame.streamID); a server sends its response headers once")
        }
        let headers: ResponseHeaders
        do throws(FrameError) {
            headers = try frame.decodeControlPayload(as: ResponseHeaders.self, using: decoder)
        } catch {
            throw ConnectionFailure(error)
        }
        stream.receivedHeaders = true
        do throws(MetadataError) {
            stream.call.receive(headers: try Metadata(validating: headers.metadata))
        } catch {
            reset(stream, RPCStatus(code: .internal, message: "the response headers break the metadata rules: \(error)"))
        }
    }

    private func receiveMessage(_ frame: Frame) throws(ConnectionFailure) {
        let id = frame.streamID.rawValue
        let size = frame.payload.readableBytes
        try checkOpened(frame)
        guard connectionReceive.receive(size) else {
            throw ConnectionFailure(
                .flowControlError,
                "a MESSAGE of \(size) bytes on stream \(id) is larger than the \(connectionReceive.senderRemaining) bytes "
                    + "left in the connection window; wait for WINDOW_UPDATE")
        }
        guard let stream = streams[id] else {
            consumeConnection(size)
            return
        }
        guard stream.receivedHeaders else {
            throw ConnectionFailure(
                .protocolError, "MESSAGE before HEADERS on stream \(id); a server sends its response headers first")
        }
        guard stream.receiveWindow.receive(size) else {
            throw ConnectionFailure(
                .flowControlError,
                "a MESSAGE of \(size) bytes on stream \(id) is larger than the \(stream.receiveWindow.senderRemaining) bytes "
                    + "left in its window; wait for WINDOW_UPDATE")
        }
        stream.responseCount += 1
        if stream.expectsOneResponse, stream.responseCount > 1 {
            reset(stream, RPCStatus(code: .internal, message: "a second response message on a \(Self.kindName(stream.call.kind)) call"))
            return
        }
        do throws(WireDecodingError) {
            try stream.call.receive(message: frame.payload, decoder: decoder)
        } catch {
            reset(stream, RPCStatus(code: .internal, message: error.description))
        }
    }

    private func receiveTrailers(_ frame: Frame) throws(ConnectionFailure) {
        try checkOpened(frame)
        guard let stream = streams[frame.streamID.rawValue] else { return }
        let trailers: Trailers
        do throws(FrameError) {
            trailers = try frame.decodeControlPayload(as: Trailers.self, using: decoder)
        } catch {
            throw ConnectionFailure(error)
        }
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

    private func checkOpened(_ frame: Frame) throws(ConnectionFailure) {
        guard frame.streamID.rawValue < nextStreamID else {
            throw ConnectionFailure(
                .protocolError, "\(frame.type) on stream \(frame.streamID), which the client never opened")
        }
    }

    private static func kindName(_ kind: WireCallKind) -> String {
        switch kind {
        case .unary: "unary"
        case .serverStreaming: "server-streaming"
        case .clientStreaming: "client-streaming"
        case .bidirectionalStreaming: "bidirectional"
        }
    }

    // MARK: Flow control, receiving

    func responsesConsumed(on streamID: UInt32) {
        guard let stream = streams[streamID] else { return }
        let bytes = stream.call.takeConsumedBytes()
        guard bytes > 0 else { return }
        if let increment = stream.receiveWindow.consume(bytes) {
            frames?.appendControl(.windowUpdate, streamID: stream.id, message: WindowUpdate(incrementBytes: increment))
        }
        consumeConnection(bytes)
        scheduleFlush()
    }

    private func consumeConnection(_ bytes: Int) {
        guard bytes > 0, let increment = connectionReceive.consume(bytes) else { return }
        frames?.appendControl(.windowUpdate, streamID: .connection, message: WindowUpdate(incrementBytes: increment))
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
        switch state {
        case .ready:
            break
        case .handshaking, .awaitingServerSettings:
            wait(call, deadline: deadline) { [self] in
                startCall(call, headers: headers, deadline: deadline, firstMessage: firstMessage, endStream: endStream, fromQueue: true)
            }
            return
        case .goingAway, .closed:
            call.finish(
                CallOutcome(
                    status: RPCStatus(code: .unavailable, message: "not processed: the connection is closing; safe to retry"),
                    notProcessed: true))
            return
        }
        if streams.count >= peerLimits.maxConcurrentStreams || (!fromQueue && !waiting.isEmpty) {
            wait(call, deadline: deadline) { [self] in
                startCall(call, headers: headers, deadline: deadline, firstMessage: firstMessage, endStream: endStream, fromQueue: true)
            }
            return
        }
        var headers = headers
        if let deadline {
            let remaining = (deadline - .now()).nanoseconds
            guard remaining > 0 else {
                call.finish(
                    CallOutcome(
                        status: RPCStatus(code: .deadlineExceeded, message: "the deadline passed before the call was sent"),
                        notProcessed: true))
                return
            }
            headers.timeoutMs = (remaining + 999_999) / 1_000_000
        }
        guard let id = StreamID(rawValue: nextStreamID) else {
            state = .goingAway
            reportUnusable()
            call.finish(
                CallOutcome(
                    status: RPCStatus(code: .unavailable, message: "not processed: the connection has used every stream id; safe to retry"),
                    notProcessed: true))
            return
        }
        nextStreamID += 2
        let headersOnly = endStream && firstMessage == nil
        do throws(OutboundFrameError) {
            try frames?.append(
                .headers, flags: headersOnly ? .endStream : [], streamID: id, message: headers,
                limit: peerLimits.maxPayloadSize(of: .headers))
        } catch {
            let status: RPCStatus
            switch error {
            case .encoding(let error):
                status = RPCStatus(code: .invalidArgument, message: "cannot send the request headers: \(error)")
            case .tooLarge(let size, let limit):
                status = RPCStatus(
                    code: .resourceExhausted, message: "request headers of \(size) bytes are over the server's limit of \(limit)")
            }
            call.finish(CallOutcome(status: status, notProcessed: true))
            return
        }
        call.opened(as: id)
        let stream = ClientStream(
            id: id, call: call, sendWindow: SendWindow(initial: peerLimits.initialStreamWindowSize),
            receiveWindow: ReceiveWindow(
                initial: limits.initialStreamWindowSize, largestMessage: limits.maxPayloadSize(of: .message)))
        if headersOnly { stream.state.sendEndStream() }
        streams[id.rawValue] = stream
        idleTimer?.cancel()
        idleTimer = nil
        if let deadline, let context {
            stream.deadlineTimer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
                deadlineExpired(id.rawValue)
            }
        }
        if let firstMessage, let failure = enqueue(firstMessage, endStream: endStream, on: stream, continuation: nil) {
            reset(stream, failure)
        }
    }

    /// The caller sends one more request.
    func sendMessage<M: WireMessage>(
        _ message: M, for call: any ClientStreamDelegate, continuation: CheckedContinuation<Void, any Error>
    ) {
        guard let stream = streams[call.streamID], stream.call === call, !stream.isHalfClosing else {
            continuation.resume(throwing: RPCStatus(code: .cancelled, message: "the call is over; nothing more can be sent"))
            return
        }
        defer { scheduleFlush() }
        if let failure = enqueue(message, endStream: false, on: stream, continuation: continuation) {
            continuation.resume(throwing: failure)
            reset(stream, failure)
        }
    }

    /// The caller sends no more requests.
    func halfClose(_ call: any ClientStreamDelegate) {
        guard let stream = streams[call.streamID], stream.call === call, !stream.isHalfClosing else { return }
        if stream.pending.isEmpty {
            frames?.append(Frame.endOfRequests(streamID: stream.id))
            stream.state.sendEndStream()
            flush()
        } else {
            stream.pending.append(.endStream)
        }
    }

    /// The caller cancels `call`.
    func cancel(_ call: any ClientStreamDelegate, status: RPCStatus) {
        if let stream = streams[call.streamID], stream.call === call {
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
        guard let stream = streams[streamID] else { return }
        reset(stream, status)
        flush()
    }

    private func deadlineExpired(_ id: UInt32) {
        guard let stream = streams[id] else { return }
        reset(stream, RPCStatus(code: .deadlineExceeded, message: "the deadline passed before the server answered"))
        flush()
    }

    /// Ends a call from this side: RST_STREAM with `status`, and the call fails with it.
    private func reset(_ stream: ClientStream, _ status: RPCStatus) {
        guard streams[stream.id.rawValue] != nil else { return }
        frames?.appendControl(.rstStream, streamID: stream.id, message: status.streamReset)
        closeStream(stream)
        stream.call.finish(CallOutcome(status: status))
    }

    private func wait(_ call: any ClientStreamDelegate, deadline: NIODeadline?, open: @escaping () -> Void) {
        var timer: Scheduled<Void>?
        if let deadline, let context {
            timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
                guard let index = waiting.firstIndex(where: { $0.call === call }) else { return }
                waiting.remove(at: index)
                call.finish(
                    CallOutcome(
                        status: RPCStatus(
                            code: .deadlineExceeded,
                            message: "the deadline passed while the call waited for a stream (the server allows \(peerLimits.maxConcurrentStreams) at once)"),
                        notProcessed: true))
            }
        }
        waiting.append(WaitingCall(call: call, open: open, timer: timer))
    }

    private func openWaitingCalls() {
        guard case .ready = state else { return }
        while !waiting.isEmpty, streams.count < peerLimits.maxConcurrentStreams {
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

    // MARK: Sending

    private func enqueue<M: WireMessage>(
        _ message: M, endStream: Bool, on stream: ClientStream, continuation: CheckedContinuation<Void, any Error>?
    ) -> RPCStatus? {
        let length: Int
        do throws(OutboundFrameError) {
            guard let written = try frames?.append(
                .message, streamID: stream.id, message: message, limit: peerLimits.maxPayloadSize(of: .message))
            else { return RPCStatus(code: .unavailable, message: "the connection is closed") }
            length = written
        } catch {
            switch error {
            case .encoding(let error):
                return RPCStatus(code: .invalidArgument, message: "cannot send the request: \(error)")
            case .tooLarge(let size, let limit):
                return RPCStatus(
                    code: .resourceExhausted, message: "request message of \(size) bytes is over the server's limit of \(limit)")
            }
        }
        if stream.pending.isEmpty, stream.sendWindow.permits(length), connectionSend.permits(length) {
            stream.sendWindow.spend(length)
            connectionSend.spend(length)
            if endStream { finishRequests(on: stream, lastMessageLength: length) }
            continuation?.resume()
        } else if let payload = frames?.removeLast(payloadLength: length) {
            stream.pending.append(.message(payload, endStream: endStream, continuation))
            markBlocked(stream)
        }
        return nil
    }

    /// Half-closes after the message just appended: END_STREAM on it, or for an empty message
    /// (which with END_STREAM would mean "no message") a separate empty END_STREAM frame.
    private func finishRequests(on stream: ClientStream, lastMessageLength length: Int) {
        if length > 0 {
            frames?.setEndStreamOnLastFrame(payloadLength: length)
        } else {
            frames?.append(Frame.endOfRequests(streamID: stream.id))
        }
        stream.state.sendEndStream()
    }

    private func markBlocked(_ stream: ClientStream) {
        guard !stream.isBlocked else { return }
        stream.isBlocked = true
        blockedStreams.append(stream.id.rawValue)
    }

    private func drainBlockedStreams() {
        let ids = blockedStreams
        blockedStreams.removeAll()
        for id in ids {
            guard let stream = streams[id] else { continue }
            stream.isBlocked = false
            drain(stream)
        }
    }

    private func drain(_ stream: ClientStream) {
        while let first = stream.pending.first {
            switch first {
            case .message(let payload, let endStream, let continuation):
                let length = payload.readableBytes
                guard stream.sendWindow.permits(length), connectionSend.permits(length) else {
                    markBlocked(stream)
                    return
                }
                stream.pending.removeFirst()
                stream.sendWindow.spend(length)
                connectionSend.spend(length)
                frames?.append(Frame.message(payload, streamID: stream.id))
                if endStream { finishRequests(on: stream, lastMessageLength: length) }
                continuation?.resume()
            case .endStream:
                stream.pending.removeFirst()
                frames?.append(Frame.endOfRequests(streamID: stream.id))
                stream.state.sendEndStream()
            }
        }
    }

    // MARK: Closing

    private func closeStream(_ stream: ClientStream) {
        guard streams.removeValue(forKey: stream.id.rawValue) != nil else { return }
        stream.state = .closed
        stream.deadlineTimer?.cancel()
        stream.deadlineTimer = nil
        let over = RPCStatus(code: .cancelled, message: "the call is over; nothing more can be sent")
        while let pending = stream.pending.popFirst() {
            if case .message(_, _, let continuation) = pending { continuation?.resume(throwing: over) }
        }
        consumeConnection(stream.receiveWindow.dropBuffered())
        switch state {
        case .ready:
            openWaitingCalls()
            if streams.isEmpty { startIdleTimer() }
        case .goingAway:
            if streams.isEmpty { closeConnection() }
        case .handshaking, .awaitingServerSettings, .closed:
            break
        }
    }

    /// Stops taking calls: GOAWAY to the server, the open calls finish, then the connection closes.
    func beginClose() {
        switch state {
        case .closed:
            return
        case .handshaking, .awaitingServerSettings:
            closeConnection()
            return
        case .ready, .goingAway:
            break
        }
        frames?.appendControl(
            .goAway, streamID: .connection, message: GoAway(lastStreamID: 0, statusCode: .ok, message: "client closing"))
        state = .goingAway
        reportUnusable()
        failWaitingCalls(
            CallOutcome(
                status: RPCStatus(code: .unavailable, message: "not processed: the client is closing; safe to retry"),
                notProcessed: true))
        if streams.isEmpty { closeConnection() } else { flush() }
    }

    private func fail(_ failure: ConnectionFailure) {
        switch state {
        case .closed: return
        case .handshaking, .awaitingServerSettings, .ready, .goingAway: break
        }
        lastError = failure.status.message
        frames?.appendControl(.goAway, streamID: .connection, message: failure.status.goAway(lastStreamID: .connection))
        closeConnection(afterError: true)
    }

    /// After a connection error (`afterError`) the socket closes without waiting for the peer's TLS close_notify.
    private func closeConnection(afterError: Bool = false) {
        guard let context else { return }
        switch state {
        case .closed: return
        case .handshaking, .awaitingServerSettings, .ready, .goingAway: break
        }
        flush()
        connectionGone()
        if afterError { context.closeAfterConnectionError() } else { context.close(promise: nil) }
    }

    /// Fails everything still open: the connection is closed or closing.
    private func connectionGone() {
        state = .closed
        cancelTimers()
        reportUnusable()
        let reason = goAwayStatus?.message ?? lastError ?? "the connection closed before the call finished"
        let status = RPCStatus(code: .unavailable, message: reason)
        readyPromise.fail(
            RPCStatus(code: .unavailable, message: "the connection closed before the server's SETTINGS arrived: \(reason)"))
        let open = streams.values.sorted { $0.id < $1.id }
        streams.removeAll()
        for stream in open {
            stream.deadlineTimer?.cancel()
            let over = RPCStatus(code: .unavailable, message: reason)
            while let pending = stream.pending.popFirst() {
                if case .message(_, _, let continuation) = pending { continuation?.resume(throwing: over) }
            }
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

    private func flush() {
        guard let context, var frames, !frames.isEmpty else { return }
        frames.flush(context: context)
        self.frames = frames
    }

    private var flushScheduled = false

    /// Flushes once the event loop has run the tasks already queued: calls that finish in the
    /// same tick share one write (one TLS record, one syscall).
    private func scheduleFlush() {
        guard !flushScheduled, let context else { return }
        flushScheduled = true
        context.eventLoop.assumeIsolated().execute {
            self.flushScheduled = false
            self.flush()
        }
    }

    // MARK: Timers

    private func startSettingsTimer(context: ChannelHandlerContext) {
        guard settingsTimer == nil, !receivedServerSettings else { return }
        let timeout = limits.handshakeTimeout
        settingsTimer = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) { [self] in
            guard !receivedServerSettings else { return }
            lastError =
                "the TLS handshake and the server's first SETTINGS did not complete within \(timeout.nanoseconds / 1_000_000) ms"
            closeConnection()
        }
    }

    private func startIdleTimer() {
        guard limits.idleTimeout.nanoseconds > 0, idleTimer == nil, let context else { return }
        let timeout = limits.idleTimeout
        idleTimer = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) { [self] in
            idleTimer = nil
            guard streams.isEmpty, waiting.isEmpty, case .ready = state else { return }
            frames?.appendControl(
                .goAway, streamID: .connection,
                message: GoAway(lastStreamID: 0, statusCode: .ok, message: "idle for \(timeout.nanoseconds / 1_000_000) ms"))
            closeConnection()
        }
    }

    private func scheduleKeepalive(in delay: TimeAmount) {
        guard limits.keepaliveInterval.nanoseconds > 0, let context else { return }
        keepaliveTimer = context.eventLoop.assumeIsolated().scheduleTask(in: delay) { [self] in keepaliveCheck() }
    }

    private func keepaliveCheck() {
        switch state {
        case .ready, .goingAway: break
        case .handshaking, .awaitingServerSettings, .closed: return
        }
        guard let context else { return }
        let interval = limits.keepaliveInterval
        // The event loop's clock, which the timers use too (a testing loop's may be virtual).
        let quiet = context.eventLoop.now - lastReadTime
        guard quiet >= interval else {
            scheduleKeepalive(in: interval - quiet)
            return
        }
        if outstandingPing == nil {
            let opaque = UInt64.random(in: 1...UInt64.max)
            outstandingPing = opaque
            frames?.appendControl(.ping, streamID: .connection, message: Ping(opaqueData: opaque, ack: false))
            flush()
            let timeout = limits.keepaliveTimeout
            keepaliveTimeoutTimer = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) { [self] in
                guard outstandingPing != nil else { return }
                fail(
                    ConnectionFailure(
                        .keepaliveTimeout,
                        "the server did not acknowledge a PING within \(timeout.nanoseconds / 1_000_000) ms; "
                            + "the connection is presumed dead"))
            }
        }
        scheduleKeepalive(in: interval)
    }

    private func cancelTimers() {
        settingsTimer?.cancel()
        idleTimer?.cancel()
        keepaliveTimer?.cancel()
        keepaliveTimeoutTimer?.cancel()
        settingsTimer = nil
        idleTimer = nil
        keepaliveTimer = nil
        keepaliveTimeoutTimer = nil
        for entry in waiting { entry.timer?.cancel() }
    }
}
