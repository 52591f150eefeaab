import CRMTLS
import CRMWire
import NIOCore

/// The server's end of one crm/1 connection: streams, flow control, settings, keepalive, idle
/// timeout and graceful shutdown (docs/PROTOCOL.md, sections 3 to 16).
///
/// It sits after the TLS handler and the frame decoder. Every frame is handled here, on the event
/// loop; only handlers run in tasks, and they come back through `ServerConnectionRef` to write.
/// Outgoing frames are encoded into one buffer and flushed once per read or per task request.
final class ServerConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = Frame
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private enum State {
        /// TLS is not done: nothing sent yet.
        case handshaking
        /// Our SETTINGS are sent; the client's first SETTINGS have not arrived.
        case awaitingPeerSettings
        /// Calls flow.
        case active
        /// GOAWAY sent (graceful): streams up to `lastStreamID` finish, new ones are discarded.
        case draining(grace: Scheduled<Void>?)
        /// Closing or closed: nothing more is read or sent.
        case closed
    }

    private let limits: ProtocolLimits
    private let router: MethodRouter
    private let interceptors: InterceptorChain
    private let decoder: WireDecoder
    private var state = State.handshaking
    private var context: ChannelHandlerContext?
    private var frames: OutboundFrames?
    private var ref: ServerConnectionRef?

    private var peerLimits = ProtocolLimits.default
    private var receivedPeerSettings = false
    private var unacknowledgedSettings = 0
    private var peerCertificate: PeerCertificate?
    private var remoteAddress: SocketAddress?
    private var peerSentGoAway = false

    private var streams: [UInt32: ServerStream] = [:]
    private var highestStreamID: UInt32 = 0
    private var lastAcceptedStreamID: UInt32 = 0
    private var connectionReceive: ReceiveWindow
    private var connectionSend: SendWindow
    private var blockedStreams = CircularBuffer<UInt32>()

    private var handshakeTimer: Scheduled<Void>?
    private var idleTimer: Scheduled<Void>?
    private var keepaliveTimer: Scheduled<Void>?
    private var keepaliveTimeoutTimer: Scheduled<Void>?
    private var lastReadTime = NIODeadline.now()
    private var outstandingPing: UInt64?
    /// A read the channel asked for while our output was backed up, issued once it drains.
    private var readHeldBack = false

    init(limits: ProtocolLimits, router: MethodRouter, interceptors: [any RPCInterceptor]) {
        self.limits = limits
        self.router = router
        self.interceptors = InterceptorChain(interceptors: interceptors)
        decoder = WireDecoder(limits: limits.wireLimits)
        connectionReceive = ReceiveWindow(
            initial: limits.connectionWindowSize, largestMessage: limits.maxPayloadSize(of: .message))
        connectionSend = SendWindow(initial: ProtocolLimits.default.connectionWindowSize)
    }

    /// How tasks reach this handler; valid once the handler is in a pipeline.
    func makeRef(eventLoop: any EventLoop) -> ServerConnectionRef {
        if let ref { return ref }
        let ref = ServerConnectionRef(eventLoop: eventLoop, handler: NIOLoopBound(self, eventLoop: eventLoop))
        self.ref = ref
        return ref
    }

    // MARK: Lifecycle

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        lastReadTime = context.eventLoop.now
        frames = OutboundFrames(allocator: context.channel.allocator)
        _ = makeRef(eventLoop: context.eventLoop)
        remoteAddress = context.channel.remoteAddress
        if context.channel.isActive { startHandshakeTimer(context: context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        shutDownStreams(RPCStatus(code: .unavailable, message: "the connection closed before the call finished"))
        cancelTimers()
        self.context = nil
        // The ref holds this handler: kept, it would keep the handler (and all it holds) alive for ever.
        ref = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        startHandshakeTimer(context: context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        state = .closed
        shutDownStreams(RPCStatus(code: .unavailable, message: "the connection closed before the call finished"))
        cancelTimers()
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let handshake = event as? TLSHandshakeCompleted {
            guard case .handshaking = state else { return }
            peerCertificate = handshake.peerCertificate
            frames?.appendControl(.settings, streamID: .connection, message: limits.settings)
            unacknowledgedSettings += 1
            state = .awaitingPeerSettings
            flush()
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let error = error as? FrameError {
            switch error {
            case .truncated:
                // The client closed mid-frame: nobody is left to tell.
                closeConnection()
            default:
                fail(ConnectionFailure(error))
            }
        }
        // TLS errors close the channel in the TLS handler; data after a decoding error is dropped.
    }

    // MARK: Reading

    /// Backpressure on everything a connection can make the server send (docs/PROTOCOL.md, section 12): while more
    /// of our output waits to be sent than the channel's high-water mark (the peer is not reading), nothing more is
    /// read from the connection, so the peer cannot make the server answer, refuse or acknowledge anything more. Reading
    /// resumes when the output drains below the low-water mark.
    func read(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            context.read()
        } else {
            readHeldBack = true
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable && readHeldBack {
            readHeldBack = false
            context.read()
        }
        context.fireChannelWritabilityChanged()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch state {
        case .closed, .handshaking:
            return
        case .awaitingPeerSettings, .active, .draining:
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
        case .rstStream: try receiveReset(frame)
        case .windowUpdate: try receiveWindowUpdate(frame)
        case .settings: try receiveSettings(frame)
        case .ping: try receivePing(frame)
        case .goAway: try receiveGoAway(frame)
        case .trailers: throw ConnectionFailure(.notAllowed(type: .trailers, from: .client))
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
                    .protocolError, "a SETTINGS acknowledgement arrived but no SETTINGS frame of the server awaits one")
            }
            unacknowledgedSettings -= 1
            return
        }
        do throws(FrameError) {
            peerLimits = try peerLimits.applying(settings, isFirst: !receivedPeerSettings)
        } catch {
            throw ConnectionFailure(error)
        }
        frames?.appendControl(.settings, flags: .ack, streamID: .connection, message: Settings(ack: true))
        guard !receivedPeerSettings else { return }
        receivedPeerSettings = true
        connectionSend = SendWindow(initial: peerLimits.connectionWindowSize)
        handshakeTimer?.cancel()
        handshakeTimer = nil
        if case .awaitingPeerSettings = state { state = .active }
        scheduleKeepalive(in: limits.keepaliveInterval)
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
        do throws(FrameError) {
            _ = try frame.decodeControlPayload(as: GoAway.self, using: decoder)
        } catch {
            throw ConnectionFailure(error)
        }
        // The client opens no more streams; close once its calls are done.
        peerSentGoAway = true
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
        guard let stream = streams[id] else { return }  // closed: discarded
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
        guard let stream = streams[frame.streamID.rawValue] else { return }  // closed: discarded
        let status = RPCStatus(reset)
        closeStream(
            stream,
            status: RPCStatus(code: .cancelled, message: "the client reset the stream (\(status))"))
    }

    private func receiveHeaders(_ frame: Frame) throws(ConnectionFailure) {
        let id = frame.streamID.rawValue
        guard id > highestStreamID else {
            throw ConnectionFailure(
                .protocolError,
                "HEADERS on stream \(id), which is not above \(highestStreamID), the highest stream opened so far; "
                    + "open each call on a new, higher odd stream id")
        }
        highestStreamID = id
        let headers: RequestHeaders
        do throws(FrameError) {
            headers = try frame.decodeControlPayload(as: RequestHeaders.self, using: decoder)
        } catch {
            throw ConnectionFailure(error)
        }
        switch state {
        case .draining, .closed, .handshaking:
            return  // after GOAWAY: discarded unanswered; the client retries elsewhere
        case .awaitingPeerSettings, .active:
            break
        }
        guard streams.count < limits.maxConcurrentStreams else {
            frames?.appendControl(
                .rstStream, streamID: frame.streamID,
                message: RPCStatus(
                    code: .resourceExhausted,
                    message: "REFUSED_STREAM: more than \(limits.maxConcurrentStreams) concurrent streams"
                ).streamReset)
            return
        }
        lastAcceptedStreamID = id
        let endStream = frame.flags.contains(.endStream)

        guard let method = router.handler(for: headers.method) else {
            sendTrailersOnly(frame.streamID, RPCStatus(code: .unimplemented, message: "unknown method \(headers.method)"))
            return
        }
        let metadata: Metadata
        do throws(MetadataError) {
            metadata = try Metadata(validating: headers.metadata)
        } catch {
            sendTrailersOnly(frame.streamID, RPCStatus(code: .invalidArgument, message: error.description))
            return
        }
        guard headers.timeoutMs >= 0 else {
            sendTrailersOnly(
                frame.streamID,
                RPCStatus(code: .deadlineExceeded, message: "deadline of \(headers.timeoutMs) ms exceeded before the call started"))
            return
        }
        let deadline: ContinuousClock.Instant? =
            headers.timeoutMs > 0 ? ContinuousClock.now + .milliseconds(headers.timeoutMs) : nil
        let context = RPCContext(
            method: method.registration.info, deadline: deadline, requestMetadata: metadata,
            authority: headers.authority, isIdempotent: headers.idempotent, peerCertificate: peerCertificate,
            remoteAddress: remoteAddress)
        guard let ref else { return }
        let call = method.makeCall(streamID: frame.streamID, context: context, connection: ref, interceptors: interceptors)
        let stream = ServerStream(
            id: frame.streamID, state: endStream ? .halfClosedRemote : .open, call: call, context: context,
            sendWindow: SendWindow(initial: peerLimits.initialStreamWindowSize),
            receiveWindow: ReceiveWindow(
                initial: limits.initialStreamWindowSize, largestMessage: limits.maxPayloadSize(of: .message)))
        streams[id] = stream
        idleTimer?.cancel()
        idleTimer = nil
        if headers.timeoutMs > 0, let eventLoop = self.context?.eventLoop {
            let timeout = headers.timeoutMs
            stream.deadlineTimer = eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(timeout)) {
                self.deadlineExpired(id, timeoutMs: timeout)
            }
        }
        apply(call.start(endStream: endStream), to: stream)
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
            // Closed (or discarded after GOAWAY): return its bytes on the connection at once.
            consumeConnection(size)
            return
        }
        switch stream.state.inboundMessage {
        case .accept:
            break
        case .afterEndStream:
            throw ConnectionFailure(
                .protocolError,
                "MESSAGE on stream \(id) after its END_STREAM; a client sends nothing on a stream it has half-closed")
        case .discard:
            consumeConnection(size)
            return
        }
        guard stream.receiveWindow.receive(size) else {
            throw ConnectionFailure(
                .flowControlError,
                "a MESSAGE of \(size) bytes on stream \(id) is larger than the \(stream.receiveWindow.senderRemaining) bytes "
                    + "left in its window; wait for WINDOW_UPDATE")
        }
        let endStream = frame.flags.contains(.endStream)
        if endStream { stream.state.receiveEndStream() }
        if frame.carriesMessage(from: .client) {
            apply(stream.call.receiveMessage(frame.payload, decoder: decoder), to: stream)
            guard streams[id] != nil else { return }
        }
        if endStream {
            apply(stream.call.receiveEndStream(), to: stream)
        }
    }

    /// A frame for a stream id above every one opened: a PROTOCOL_ERROR.
    private func checkOpened(_ frame: Frame) throws(ConnectionFailure) {
        guard frame.streamID.rawValue <= highestStreamID else {
            throw ConnectionFailure(
                .protocolError,
                "\(frame.type) on stream \(frame.streamID), which was never opened; a client opens a stream with HEADERS first")
        }
    }

    private func apply(_ action: ServerCallAction, to stream: ServerStream) {
        switch action {
        case .proceed:
            break
        case .consumed(let bytes):
            consume(bytes, on: stream)
        case .fail(let status):
            endCall(stream, status: status)
        }
    }

    // MARK: Flow control, receiving

    /// A handler consumed requests of a streaming call: return their credit.
    func requestsConsumed(on streamID: StreamID) {
        guard let stream = streams[streamID.rawValue] else { return }
        consume(stream.call.takeConsumedBytes(), on: stream)
        scheduleFlush()
    }

    private func consume(_ bytes: Int, on stream: ServerStream) {
        guard bytes > 0 else { return }
        if let increment = stream.receiveWindow.consume(bytes), !stream.state.peerFinished {
            frames?.appendControl(
                .windowUpdate, streamID: stream.id, message: WindowUpdate(incrementBytes: increment))
        }
        consumeConnection(bytes)
    }

    private func consumeConnection(_ bytes: Int) {
        guard bytes > 0, let increment = connectionReceive.consume(bytes) else { return }
        frames?.appendControl(.windowUpdate, streamID: .connection, message: WindowUpdate(incrementBytes: increment))
    }

    // MARK: Sending

    /// A handler writes a response message.
    func sendMessage<M: WireMessage>(_ message: M, on streamID: StreamID, continuation: CheckedContinuation<Void, any Error>) {
        guard let stream = streams[streamID.rawValue], stream.state.canSend, !stream.isEnding else {
            continuation.resume(throwing: Self.callOver(streamID))
            return
        }
        defer { scheduleFlush() }
        if let failure = enqueue(message, on: stream, continuation: continuation) {
            continuation.resume(throwing: failure)
            endCall(stream, status: failure)
        }
    }

    /// A server-streaming handler started: send the response headers before any message, so the
    /// client's call returns while the handler waits for something to send.
    func sendHeaders(on streamID: StreamID) {
        guard let stream = streams[streamID.rawValue], stream.state.canSend, !stream.isEnding, !stream.headersSent else {
            return
        }
        defer { scheduleFlush() }
        if let failure = sendHeadersIfNeeded(stream) { endCall(stream, status: failure) }
    }

    /// A handler finished: send its response (unary, client-streaming) and the trailers.
    func callFinished<M: WireMessage>(on streamID: StreamID, status: RPCStatus, response: M?) {
        guard let stream = streams[streamID.rawValue] else { return }
        defer { scheduleFlush() }
        if let response {
            if let failure = enqueue(response, on: stream, continuation: nil) {
                endCall(stream, status: failure)
                return
            }
        }
        let trailers = status.trailers(metadata: stream.context.trailingMetadata.wireEntries)
        if stream.pending.isEmpty {
            writeTrailers(trailers, on: stream)
        } else {
            stream.pending.append(.trailers(trailers))
        }
    }

    /// Encodes `message` and sends it if both windows allow, else queues it; returns the status
    /// that ends the call when it cannot be sent at all.
    private func enqueue<M: WireMessage>(
        _ message: M, on stream: ServerStream, continuation: CheckedContinuation<Void, any Error>?
    ) -> RPCStatus? {
        guard frames != nil else { return Self.callOver(stream.id) }
        if let failure = sendHeadersIfNeeded(stream) { return failure }
        let length: Int
        do throws(OutboundFrameError) {
            guard let written = try frames?.append(
                .message, streamID: stream.id, message: message, limit: peerLimits.maxPayloadSize(of: .message))
            else { return Self.callOver(stream.id) }
            length = written
        } catch {
            switch error {
            case .encoding(let error):
                return RPCStatus(code: .internal, message: "cannot send the response: \(error)")
            case .tooLarge(let size, let limit):
                return RPCStatus(
                    code: .resourceExhausted,
                    message: "response message of \(size) bytes is over the client's limit of \(limit)")
            }
        }
        if stream.pending.isEmpty, stream.sendWindow.permits(length), connectionSend.permits(length) {
            stream.sendWindow.spend(length)
            connectionSend.spend(length)
            continuation?.resume()
        } else if let payload = frames?.removeLast(payloadLength: length) {
            stream.pending.append(.message(payload, continuation))
            markBlocked(stream)
        }
        return nil
    }

    /// Sends the response headers before the first message; returns a status when they are over
    /// the client's limit.
    private func sendHeadersIfNeeded(_ stream: ServerStream) -> RPCStatus? {
        guard !stream.headersSent else { return nil }
        stream.headersSent = true
        let headers = ResponseHeaders(metadata: stream.context.takeResponseHeaders().wireEntries)
        do throws(OutboundFrameError) {
            try frames?.append(
                .headers, streamID: stream.id, message: headers, limit: peerLimits.maxPayloadSize(of: .headers))
        } catch {
            switch error {
            case .encoding(let error):
                return RPCStatus(code: .internal, message: "cannot send the response headers: \(error)")
            case .tooLarge(let size, let limit):
                return RPCStatus(
                    code: .resourceExhausted,
                    message: "response headers of \(size) bytes are over the client's limit of \(limit)")
            }
        }
        return nil
    }

    private func writeTrailers(_ trailers: Trailers, on stream: ServerStream) {
        if !stream.headersSent, stream.context.hasPendingResponseHeaders {
            if let failure = sendHeadersIfNeeded(stream) {
                sendTrailersOnly(stream.id, failure)
                closeStream(stream, status: failure)
                return
            }
        }
        do throws(OutboundFrameError) {
            try frames?.append(.trailers, streamID: stream.id, message: trailers, limit: peerLimits.maxPayloadSize(of: .trailers))
        } catch {
            let status: RPCStatus
            switch error {
            case .encoding(let error):
                status = RPCStatus(code: .internal, message: "cannot send the trailers: \(error)")
            case .tooLarge(let size, let limit):
                status = RPCStatus(
                    code: .resourceExhausted, message: "response trailers of \(size) bytes are over the client's limit of \(limit)")
            }
            frames?.appendControl(.trailers, streamID: stream.id, message: status.trailers())
        }
        closeStream(stream, status: nil)
    }

    private func sendTrailersOnly(_ streamID: StreamID, _ status: RPCStatus) {
        frames?.appendControl(.trailers, streamID: streamID, message: status.trailers())
    }

    /// Ends a call the runtime fails (bad request, deadline, oversized response): drops what
    /// waits, sends the trailers and stops the handler.
    private func endCall(_ stream: ServerStream, status: RPCStatus) {
        guard streams[stream.id.rawValue] != nil else { return }
        failPending(stream)
        if !stream.headersSent, stream.context.hasPendingResponseHeaders { _ = sendHeadersIfNeeded(stream) }
        frames?.appendControl(.trailers, streamID: stream.id, message: status.trailers())
        closeStream(stream, status: status)
    }

    private func deadlineExpired(_ id: UInt32, timeoutMs: Int64) {
        guard let stream = streams[id] else { return }
        endCall(stream, status: RPCStatus(code: .deadlineExceeded, message: "deadline of \(timeoutMs) ms exceeded"))
        flush()
    }

    // MARK: Flow control, sending

    private func markBlocked(_ stream: ServerStream) {
        guard !stream.isBlocked else { return }
        stream.isBlocked = true
        blockedStreams.append(stream.id.rawValue)
    }

    /// The connection window grew: give it to the waiting streams in the order they blocked.
    /// Those still short of window mark themselves blocked again.
    private func drainBlockedStreams() {
        let ids = blockedStreams
        blockedStreams.removeAll()
        for id in ids {
            guard let stream = streams[id] else { continue }
            stream.isBlocked = false
            drain(stream)
        }
    }

    /// Sends what waits on `stream` while both windows allow.
    private func drain(_ stream: ServerStream) {
        while let first = stream.pending.first {
            switch first {
            case .message(let payload, let continuation):
                let length = payload.readableBytes
                guard stream.sendWindow.permits(length), connectionSend.permits(length) else {
                    markBlocked(stream)
                    return
                }
                stream.pending.removeFirst()
                stream.sendWindow.spend(length)
                connectionSend.spend(length)
                frames?.append(Frame.message(payload, streamID: stream.id))
                continuation?.resume()
            case .trailers(let trailers):
                stream.pending.removeFirst()
                writeTrailers(trailers, on: stream)
                return
            }
        }
    }

    private func failPending(_ stream: ServerStream) {
        let error = Self.callOver(stream.id)
        while let frame = stream.pending.popFirst() {
            if case .message(_, let continuation) = frame { continuation?.resume(throwing: error) }
        }
    }

    private static func callOver(_ streamID: StreamID) -> RPCStatus {
        RPCStatus(code: .cancelled, message: "the call on stream \(streamID) is over; nothing more can be sent on it")
    }

    // MARK: Closing streams

    /// Forgets a stream; with `status`, its handler is cancelled and its request stream fails.
    private func closeStream(_ stream: ServerStream, status: RPCStatus?) {
        guard streams.removeValue(forKey: stream.id.rawValue) != nil else { return }
        stream.state = .closed
        stream.deadlineTimer?.cancel()
        stream.deadlineTimer = nil
        failPending(stream)
        consumeConnection(stream.receiveWindow.dropBuffered())
        stream.call.close(status ?? RPCStatus(code: .cancelled, message: "the call on stream \(stream.id) is over"))
        streamsChanged()
    }

    private func streamsChanged() {
        guard streams.isEmpty else { return }
        switch state {
        case .draining:
            closeConnection()
        case .active:
            if peerSentGoAway { closeConnection() } else { startIdleTimer() }
        case .handshaking, .awaitingPeerSettings, .closed:
            break
        }
    }

    private func shutDownStreams(_ status: RPCStatus) {
        let open = streams.values
        streams.removeAll()
        for stream in open {
            stream.deadlineTimer?.cancel()
            failPending(stream)
            stream.call.close(status)
        }
    }

    // MARK: Connection shutdown

    /// Graceful shutdown (section 14.2): GOAWAY OK, let the open calls finish within `gracePeriod`,
    /// then reset what is left and close.
    func beginGracefulShutdown(gracePeriod: TimeAmount) {
        switch state {
        case .handshaking, .awaitingPeerSettings:
            closeConnection()
        case .active:
            frames?.appendControl(
                .goAway, streamID: .connection,
                message: GoAway(lastStreamID: lastAcceptedStreamID, statusCode: .ok, message: "server shutting down"))
            idleTimer?.cancel()
            idleTimer = nil
            guard !streams.isEmpty, let eventLoop = context?.eventLoop else {
                state = .draining(grace: nil)
                closeConnection()
                return
            }
            let grace = eventLoop.assumeIsolated().scheduleTask(in: gracePeriod) { self.gracePeriodExpired() }
            state = .draining(grace: grace)
            flush()
        case .draining, .closed:
            break
        }
    }

    private func gracePeriodExpired() {
        let status = RPCStatus(code: .unavailable, message: "server shut down before the call finished")
        for stream in streams.values.sorted(by: { $0.id < $1.id }) {
            frames?.appendControl(.rstStream, streamID: stream.id, message: status.streamReset)
            closeStream(stream, status: status)
        }
        closeConnection()
    }

    /// A connection error: GOAWAY with its status, then close without waiting (section 14.3).
    private func fail(_ failure: ConnectionFailure) {
        switch state {
        case .closed:
            return
        case .handshaking:
            closeConnection()
            return
        case .awaitingPeerSettings, .active, .draining:
            break
        }
        frames?.appendControl(
            .goAway, streamID: .connection,
            message: failure.status.goAway(lastStreamID: StreamID(rawValue: lastAcceptedStreamID) ?? .connection))
        closeConnection(afterError: true)
    }

    /// Flushes what is pending and closes; open streams are cancelled.
    /// After a connection error (`afterError`) the socket closes without waiting for the peer's TLS close_notify.
    private func closeConnection(afterError: Bool = false) {
        if case .draining(let grace) = state { grace?.cancel() }
        guard let context else { return }
        switch state {
        case .closed:
            return
        case .handshaking, .awaitingPeerSettings, .active, .draining:
            break
        }
        flush()
        state = .closed
        cancelTimers()
        shutDownStreams(RPCStatus(code: .unavailable, message: "the server closed the connection"))
        if afterError { context.closeAfterConnectionError() } else { context.close(promise: nil) }
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

    private func startHandshakeTimer(context: ChannelHandlerContext) {
        guard handshakeTimer == nil, !receivedPeerSettings else { return }
        let timeout = limits.handshakeTimeout
        handshakeTimer = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) {
            guard !self.receivedPeerSettings else { return }
            self.fail(
                ConnectionFailure(
                    .handshakeTimeout,
                    "the client did not complete the TLS handshake, preface and first SETTINGS within "
                        + "\(timeout.nanoseconds / 1_000_000) ms of connecting; a client sends them right after the handshake"))
        }
    }

    private func startIdleTimer() {
        guard limits.idleTimeout.nanoseconds > 0, idleTimer == nil, let context else { return }
        let timeout = limits.idleTimeout
        idleTimer = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) {
            self.idleTimer = nil
            guard self.streams.isEmpty, case .active = self.state else { return }
            self.frames?.appendControl(
                .goAway, streamID: .connection,
                message: GoAway(
                    lastStreamID: self.lastAcceptedStreamID, statusCode: .ok,
                    message: "idle for \(timeout.nanoseconds / 1_000_000) ms"))
            self.closeConnection()
        }
    }

    private func scheduleKeepalive(in delay: TimeAmount) {
        guard limits.keepaliveInterval.nanoseconds > 0, let context else { return }
        keepaliveTimer = context.eventLoop.assumeIsolated().scheduleTask(in: delay) { self.keepaliveCheck() }
    }

    private func keepaliveCheck() {
        switch state {
        case .active, .draining: break
        case .handshaking, .awaitingPeerSettings, .closed: return
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
            keepaliveTimeoutTimer = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) {
                guard self.outstandingPing != nil else { return }
                self.fail(
                    ConnectionFailure(
                        .keepaliveTimeout,
                        "the client did not acknowledge a PING within \(timeout.nanoseconds / 1_000_000) ms; "
                            + "the connection is presumed dead"))
            }
        }
        scheduleKeepalive(in: interval)
    }

    private func cancelTimers() {
        handshakeTimer?.cancel()
        idleTimer?.cancel()
        keepaliveTimer?.cancel()
        keepaliveTimeoutTimer?.cancel()
        handshakeTimer = nil
        idleTimer = nil
        keepaliveTimer = nil
        keepaliveTimeoutTimer = nil
    }
}

/// The server's connection handling without a socket or TLS, for the connection fuzz target: it goes after a
/// `ByteToMessageHandler(FrameDecoder(role: .server))`, as in `RPCServer`.
package func makeServerConnectionHandler(
    limits: ProtocolLimits, router: MethodRouter, interceptors: [any RPCInterceptor]
) -> any ChannelHandler {
    ServerConnectionHandler(limits: limits, router: router, interceptors: interceptors)
}
