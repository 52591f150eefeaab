import CRMTLS
package import CRMWire
package import NIOCore

/// The server's end of one crm/1 connection (docs/PROTOCOL.md, sections 3 to 16): the NIO glue around a
/// `ConnectionCore` in the server role, and what only a server does: accepting streams and starting their calls,
/// refusing streams over the limit, response headers and trailers, backpressure on reading, and graceful shutdown.
///
/// It sits after the TLS handler and the frame decoder. Every frame is handled here, on the event
/// loop; only handlers run in tasks, and they come back through `ServerConnectionRef` to write.
/// Outgoing frames are encoded into one buffer and flushed once per read or per task request.
final class ServerConnectionHandler: ChannelDuplexHandler, ConnectionHandling {
    typealias InboundIn = Frame
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let router: MethodRouter
    private let interceptors: InterceptorChain
    var core: ConnectionCore<ServerStream>
    var timer = ConnectionTimer()
    var flushScheduled = false
    private(set) var context: ChannelHandlerContext?
    var ref: ServerConnectionRef?
    private var peerCertificate: PeerCertificate?
    private var remoteAddress: SocketAddress?
    /// The client said GOAWAY: it opens no more streams, and the connection closes once its calls are done.
    private var peerSentGoAway = false
    /// The highest stream taken as a call; a GOAWAY names it as the last this server processes.
    private var lastAcceptedStreamID: UInt32 = 0
    /// A read the channel asked for while our output was backed up, issued once it drains.
    private var readHeldBack = false

    init(limits: ProtocolLimits, router: MethodRouter, interceptors: [any RPCInterceptor]) {
        self.router = router
        self.interceptors = InterceptorChain(interceptors: interceptors)
        core = ConnectionCore(role: .server, limits: limits, now: .now())
    }


    // MARK: Lifecycle

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        remoteAddress = context.channel.remoteAddress
        _ = makeRef(eventLoop: context.eventLoop)
        if context.channel.isActive { connected() }
    }

    func channelActive(context: ChannelHandlerContext) {
        connected()
        context.fireChannelActive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard let handshake = event as? TLSHandshakeCompleted else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        guard core.tlsEstablished() else { return }
        peerCertificate = handshake.peerCertificate
        flush()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // TLS errors close the channel in the TLS handler; data after a decoding error is dropped.
        guard let error = error as? FrameError else { return }
        if case .truncated = error {
            // The client closed mid-frame: nobody is left to tell.
            closeChannel(afterError: false)
        } else {
            fail(ConnectionFailure(error))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        connectionGone(closedHere: false)
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        connectionGone(closedHere: false)
        self.context = nil
        // The ref holds this handler: kept, it would keep the handler (and all it holds) alive for ever.
        ref = nil
    }

    func connectionGone(closedHere: Bool) {
        core.close()
        timer.cancel()
        let status = RPCStatus(
            code: .unavailable,
            message: closedHere ? "the server closed the connection" : "the connection closed before the call finished")
        for stream in core.removeAll(failingWritesWith: status) { stream.call.close(status) }
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
        receive(unwrapInboundIn(data))
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        readComplete()
        context.fireChannelReadComplete()
    }

    func receiveStreamFrame(_ frame: Frame) throws(ConnectionFailure) {
        switch frame.type {
        case .headers: try receiveHeaders(frame)
        case .message: try receiveMessage(frame)
        case .trailers: throw ConnectionFailure(.notAllowed(type: .trailers, from: .client))
        case .rstStream: try receiveReset(frame)
        case .settings, .ping, .windowUpdate, .goAway: break  // the core's
        }
    }

    func react(to outcome: ConnectionCore<ServerStream>.ControlOutcome) {
        switch outcome {
        case .handled, .opened, .settingsChanged:
            break
        case .trailersDue(let due):
            for (stream, trailers) in due { writeTrailers(trailers, on: stream) }
        case .goAway:
            // The client opens no more streams; close once its calls are done.
            peerSentGoAway = true
            if core.streams.isEmpty { closeChannel(afterError: false) }
        }
    }

    private func receiveReset(_ frame: Frame) throws(ConnectionFailure) {
        let reset = RPCStatus(try core.decode(frame, as: StreamReset.self))
        guard let stream = try core.openStream(for: frame) else { return }  // closed: discarded
        closeStream(stream, status: RPCStatus(code: .cancelled, message: "the client reset the stream (\(reset))"))
    }

    private func receiveHeaders(_ frame: Frame) throws(ConnectionFailure) {
        let id = frame.streamID
        guard id.rawValue > core.highestStreamID else {
            throw ConnectionFailure(
                .protocolError,
                "HEADERS on stream \(id), which is not above \(core.highestStreamID), the highest stream opened so far; "
                    + "open each call on a new, higher odd stream id")
        }
        core.claim(id)
        let headers = try core.decode(frame, as: RequestHeaders.self)
        switch core.phase {
        case .closing, .closed, .handshaking:
            return  // after GOAWAY: discarded unanswered; the client retries elsewhere
        case .awaitingPeerSettings, .open:
            break
        }
        let maxStreams = core.limits.maxConcurrentStreams
        guard core.streams.count < maxStreams else {
            let refused = RPCStatus(code: .resourceExhausted, message: "REFUSED_STREAM: more than \(maxStreams) concurrent streams")
            core.frames.appendControl(.rstStream, streamID: id, message: refused.streamReset)
            return
        }
        lastAcceptedStreamID = id.rawValue
        guard let method = router.handler(for: headers.method) else {
            sendTrailersOnly(id, RPCStatus(code: .unimplemented, message: "unknown method \(headers.method)"))
            return
        }
        let metadata: Metadata
        do throws(MetadataError) {
            metadata = try Metadata(validating: headers.metadata)
        } catch {
            sendTrailersOnly(id, RPCStatus(code: .invalidArgument, message: error.description))
            return
        }
        let timeoutMs = headers.timeoutMs
        guard timeoutMs >= 0 else {
            let message = "deadline of \(timeoutMs) ms exceeded before the call started"
            sendTrailersOnly(id, RPCStatus(code: .deadlineExceeded, message: message))
            return
        }
        let context = RPCContext(
            method: method.registration.info, deadline: timeoutMs > 0 ? ContinuousClock.now + .milliseconds(timeoutMs) : nil,
            requestMetadata: metadata, authority: headers.authority, isIdempotent: headers.idempotent,
            peerCertificate: peerCertificate, remoteAddress: remoteAddress)
        guard let ref else { return }
        let endStream = frame.flags.contains(.endStream)
        let call = method.makeCall(streamID: id, context: context, connection: ref, interceptors: interceptors)
        let stream = ServerStream(
            id: id, state: endStream ? .halfClosedRemote : .open, call: call, context: context,
            sendWindow: SendWindow(initial: core.peerLimits.initialStreamWindowSize),
            receiveWindow: ReceiveWindow(
                initial: core.limits.initialStreamWindowSize, largestMessage: core.limits.maxPayloadSize(of: .message)))
        core.insert(stream)
        if timeoutMs > 0, let eventLoop = self.context?.eventLoop {
            stream.deadlineTimer = eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(timeoutMs)) {
                self.deadlineExpired(id, timeoutMs: timeoutMs)
            }
        }
        apply(call.start(endStream: endStream), to: stream)
    }

    private func receiveMessage(_ frame: Frame) throws(ConnectionFailure) {
        guard let stream = try core.receiveMessage(frame) else { return }
        switch stream.state.inboundMessage {
        case .accept:
            break
        case .afterEndStream:
            throw ConnectionFailure(
                .protocolError,
                "MESSAGE on stream \(frame.streamID) after its END_STREAM; a client sends nothing on a stream it has half-closed")
        case .discard:
            core.consumeConnection(frame.payload.readableBytes)
            return
        }
        try core.charge(frame, to: stream)
        let endStream = frame.flags.contains(.endStream)
        if endStream { stream.state.receiveEndStream() }
        if frame.carriesMessage(from: .client) {
            apply(stream.call.receiveMessage(frame.payload, decoder: core.decoder), to: stream)
            guard core.streams[frame.streamID.rawValue] != nil else { return }
        }
        if endStream {
            apply(stream.call.receiveEndStream(), to: stream)
        }
    }

    private func apply(_ action: ServerCallAction, to stream: ServerStream) {
        switch action {
        case .proceed:
            break
        case .consumed(let bytes):
            core.consume(bytes, on: stream)
        case .fail(let status):
            endCall(stream, status: status)
        }
    }

    /// A handler consumed requests of a streaming call: return their credit.
    func requestsConsumed(on streamID: StreamID) {
        guard let stream = core.streams[streamID.rawValue] else { return }
        core.consume(stream.call.takeConsumedBytes(), on: stream)
        scheduleFlush()
    }

    // MARK: Sending

    /// A handler writes a response message.
    func sendMessage<M: WireMessage>(_ message: M, on streamID: StreamID, continuation: CheckedContinuation<Void, any Error>) {
        guard let stream = core.streams[streamID.rawValue], !stream.isEnding else {
            continuation.resume(throwing: Self.callOver(streamID))
            return
        }
        if let failure = enqueue(message, on: stream, continuation: continuation) {
            continuation.resume(throwing: failure)
            endCall(stream, status: failure)
        }
        scheduleFlush()
    }

    /// A server-streaming handler started: send the response headers before any message, so the
    /// client's call returns while the handler waits for something to send.
    func sendHeaders(on streamID: StreamID) {
        guard let stream = core.streams[streamID.rawValue], !stream.isEnding, !stream.headersSent else { return }
        if let failure = sendHeadersIfNeeded(stream) { endCall(stream, status: failure) }
        scheduleFlush()
    }

    /// A handler finished: send its response (unary, client-streaming) and the trailers.
    func callFinished<M: WireMessage>(on streamID: StreamID, status: RPCStatus, response: M?) {
        guard let stream = core.streams[streamID.rawValue] else { return }
        defer { scheduleFlush() }
        if let response, let failure = enqueue(response, on: stream, continuation: nil) {
            endCall(stream, status: failure)
            return
        }
        let trailers = status.trailers(metadata: stream.context.trailingMetadata.wireEntries)
        if stream.pending.isEmpty {
            writeTrailers(trailers, on: stream)
        } else {
            stream.pending.append(.trailers(trailers))
        }
    }

    /// Sends `message` (after the response headers) if both windows allow, else queues it; returns the status that
    /// ends the call when it cannot be sent at all.
    private func enqueue<M: WireMessage>(
        _ message: M, on stream: ServerStream, continuation: CheckedContinuation<Void, any Error>?
    ) -> RPCStatus? {
        if let failure = sendHeadersIfNeeded(stream) { return failure }
        do throws(OutboundFrameError) {
            try core.enqueue(message, on: stream, continuation: continuation)
            return nil
        } catch {
            return error.status(of: .message, from: .server)
        }
    }

    /// Sends the response headers before the first message; returns a status when they are over
    /// the client's limit.
    private func sendHeadersIfNeeded(_ stream: ServerStream) -> RPCStatus? {
        guard !stream.headersSent else { return nil }
        stream.headersSent = true
        let headers = ResponseHeaders(metadata: stream.context.takeResponseHeaders().wireEntries)
        do throws(OutboundFrameError) {
            try core.append(.headers, on: stream.id, message: headers)
            return nil
        } catch {
            return error.status(of: .headers, from: .server)
        }
    }

    private func writeTrailers(_ trailers: Trailers, on stream: ServerStream) {
        if !stream.headersSent, stream.context.hasPendingResponseHeaders, let failure = sendHeadersIfNeeded(stream) {
            sendTrailersOnly(stream.id, failure)
            closeStream(stream, status: failure)
            return
        }
        do throws(OutboundFrameError) {
            try core.append(.trailers, on: stream.id, message: trailers)
        } catch {
            sendTrailersOnly(stream.id, error.status(of: .trailers, from: .server))
        }
        closeStream(stream, status: nil)
    }

    private func sendTrailersOnly(_ streamID: StreamID, _ status: RPCStatus) {
        core.frames.appendControl(.trailers, streamID: streamID, message: status.trailers())
    }

    /// Ends a call the runtime fails (bad request, deadline, oversized response): drops what
    /// waits, sends the trailers and stops the handler.
    private func endCall(_ stream: ServerStream, status: RPCStatus) {
        guard core.streams[stream.id.rawValue] != nil else { return }
        stream.failPending(with: Self.callOver(stream.id))
        if !stream.headersSent, stream.context.hasPendingResponseHeaders { _ = sendHeadersIfNeeded(stream) }
        sendTrailersOnly(stream.id, status)
        closeStream(stream, status: status)
    }

    private func deadlineExpired(_ id: StreamID, timeoutMs: Int64) {
        guard let stream = core.streams[id.rawValue] else { return }
        endCall(stream, status: RPCStatus(code: .deadlineExceeded, message: "deadline of \(timeoutMs) ms exceeded"))
        flush()
    }

    private static func callOver(_ streamID: StreamID) -> RPCStatus {
        RPCStatus(code: .cancelled, message: "the call on stream \(streamID) is over; nothing more can be sent on it")
    }

    // MARK: Closing

    /// Forgets a stream; with `status`, its handler is cancelled and its request stream fails.
    private func closeStream(_ stream: ServerStream, status: RPCStatus?) {
        guard core.remove(stream, failingWritesWith: Self.callOver(stream.id), now: now) else { return }
        stream.call.close(status ?? RPCStatus(code: .cancelled, message: "the call on stream \(stream.id) is over"))
        guard core.streams.isEmpty else { return }
        switch core.phase {
        case .closing:
            closeChannel(afterError: false)
        case .open:
            if peerSentGoAway { closeChannel(afterError: false) }
        case .handshaking, .awaitingPeerSettings, .closed:
            break
        }
    }

    /// Graceful shutdown (section 14.2): GOAWAY OK, let the open calls finish within `gracePeriod`,
    /// then reset what is left and close.
    func beginGracefulShutdown(gracePeriod: TimeAmount) {
        switch core.phase {
        case .handshaking, .awaitingPeerSettings:
            closeChannel(afterError: false)
        case .open:
            core.appendGoAway(GoAway(lastStreamID: lastAcceptedStreamID, statusCode: .ok, message: "server shutting down"))
            guard !core.streams.isEmpty else {
                core.beginClosing()
                closeChannel(afterError: false)
                return
            }
            core.beginClosing(grace: now + gracePeriod)
            flush()
        case .closing, .closed:
            break
        }
    }

    func expired(_ expiry: ConnectionCore<ServerStream>.Expiry) {
        switch expiry {
        case .handshakeTimeout(let timeout):
            fail(
                ConnectionFailure(
                    .handshakeTimeout,
                    "the client did not complete the TLS handshake, preface and first SETTINGS within "
                        + "\(timeout.wholeMilliseconds) ms of connecting; a client sends them right after the handshake"))
        case .gracePeriodOver:
            let status = RPCStatus(code: .unavailable, message: "server shut down before the call finished")
            for stream in core.streams.values.sorted(by: { $0.id < $1.id }) {
                core.frames.appendControl(.rstStream, streamID: stream.id, message: status.streamReset)
                closeStream(stream, status: status)
            }
            closeChannel(afterError: false)
        case .pingSent:
            break
        case .keepaliveTimeout(let failure):
            fail(failure)
        case .idle(let timeout):
            let message = "idle for \(timeout.wholeMilliseconds) ms"
            core.appendGoAway(GoAway(lastStreamID: lastAcceptedStreamID, statusCode: .ok, message: message))
            closeChannel(afterError: false)
        }
    }

    /// A connection error: GOAWAY with its status, then close without waiting (section 14.3).
    func fail(_ failure: ConnectionFailure) {
        switch core.phase {
        case .closed:
            return
        case .handshaking:
            closeChannel(afterError: false)
            return
        case .awaitingPeerSettings, .open, .closing:
            break
        }
        core.appendGoAway(failure.status.goAway(lastStreamID: StreamID(rawValue: lastAcceptedStreamID) ?? .connection))
        closeChannel(afterError: true)
    }
}

/// The server's connection handling without a socket or TLS, for the connection fuzz target: it goes after a
/// `ByteToMessageHandler(FrameDecoder(role: .server))`, as in `RPCServer`.
package func makeServerConnectionHandler(
    limits: ProtocolLimits, router: MethodRouter, interceptors: [any RPCInterceptor]
) -> any ChannelHandler {
    ServerConnectionHandler(limits: limits, router: router, interceptors: interceptors)
}
