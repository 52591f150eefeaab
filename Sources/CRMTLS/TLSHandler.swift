public import NIOCore

/// A NIO channel handler that runs TLS over the channel with system OpenSSL: ciphertext below it,
/// plaintext `ByteBuffer`s above it.
///
/// Put it first in the pipeline of every accepted or connected channel, one handler per channel, all
/// sharing one ``TLSContext``:
///
/// ```swift
/// try channel.pipeline.syncOperations.addHandler(TLSHandler(context: serverContext))
/// ```
///
/// - The handshake starts as soon as the channel is active and must finish within
///   ``TLSConfiguration/handshakeTimeout``. When it has (certificates, host name and ALPN checked), the
///   handler fires ``TLSHandshakeCompleted`` as a user inbound event; a server authorises the client by
///   its ``TLSHandshakeCompleted/peerCertificate`` there.
/// - Writes made before then are held and sent, in order, once it completes.
/// - `close()` sends `close_notify` and waits up to ``TLSConfiguration/closeNotifyTimeout`` for the
///   peer's before closing the socket; a `close_notify` from the peer is answered and the channel
///   closed. Both fire ``TLSShutdownCompleted``. Half-closure is not supported: `close(mode: .output)`
///   fails with `ChannelError.operationUnsupported`.
/// - ``TLSCloseWithoutWaiting``, sent as a user outbound event, sends `close_notify` and closes the
///   socket at once, without waiting for the peer's.
/// - Every failure fires a ``TLSError`` (`errorCaught`) and closes the channel, including a peer that
///   closes the connection without `close_notify` (``TLSError/Kind/uncleanShutdown``).
///
/// On a TLS 1.3 client the server checks our certificate after our side of the handshake is complete,
/// so a server refusing it shows up as an error (such as ``TLSError/Kind/certificateRejectedByPeer``)
/// after ``TLSHandshakeCompleted``.
///
/// Like every channel handler it must only be used on its channel's event loop.
public final class TLSHandler: ChannelDuplexHandler {
    /// Ciphertext from the network.
    public typealias InboundIn = ByteBuffer
    /// Plaintext for the handlers above.
    public typealias InboundOut = ByteBuffer
    /// Plaintext from the handlers above.
    public typealias OutboundIn = ByteBuffer
    /// Ciphertext for the network.
    public typealias OutboundOut = ByteBuffer

    /// Where the TLS session is. Each timer lives in the state it guards, so leaving the state is
    /// where it is cancelled.
    private enum State {
        /// Not yet active: nothing sent or received.
        case idle
        /// The handshake runs; `timeout` closes the connection if it takes too long.
        case handshaking(timeout: Scheduled<Void>)
        /// Application data flows both ways.
        case active
        /// Our `close_notify` is sent; waiting for the peer's until `timeout`.
        case closing(timeout: Scheduled<Void>)
        /// Finished, cleanly or not; everything else is refused.
        case closed
    }

    private var state: State = .idle
    private let connection: TLSConnection
    private var pendingWrites = PendingWrites()
    /// Decrypted bytes not yet passed on. Reused from read to read when the pipeline has let go of it.
    private var plaintext: ByteBuffer?
    /// The promise of the `close()` that started a clean shutdown, completed when the socket closes.
    private var closePromise: EventLoopPromise<Void>?
    private let handshakeTimeout: TimeAmount
    private let closeNotifyTimeout: TimeAmount

    /// Ciphertext is handed to the channel in pieces of about this size while a large write is encrypted,
    /// so that OpenSSL's output buffer stays small.
    private static let outputChunkSize = 64 * 1024
    /// The receive buffer is kept from read to read up to this size (small messages then need no allocation);
    /// one that grew beyond it for a large message is dropped, so that an idle connection holds little.
    private static let retainedPlaintextCapacity = 4 * 1024
    /// The most a new receive buffer reserves up front for a burst of input.
    private static let maximumInitialPlaintextCapacity = 256 * 1024

    /// What the handshake settled, once it has completed; `nil` before. Read it on the channel's event loop.
    public private(set) var handshakeResult: TLSHandshakeCompleted?

    /// Makes the handler of one connection.
    ///
    /// - Parameters:
    ///   - context: the shared context; its role decides whether this handler accepts or connects.
    ///   - serverName: clients only: the name or IP address the server's certificate must be for, when it
    ///     is not ``TLSConfiguration/serverName``. DNS names are also sent as SNI.
    /// - Throws: ``TLSError`` when a client has no server name or OpenSSL cannot make the connection.
    public init(context: TLSContext, serverName: String? = nil) throws(TLSError) {
        self.connection = try TLSConnection(context: context, serverName: serverName)
        self.handshakeTimeout = TimeAmount(context.configuration.handshakeTimeout)
        self.closeNotifyTimeout = TimeAmount(context.configuration.closeNotifyTimeout)
    }

    // MARK: Lifecycle

    /// Starts the handshake when the channel is already active.
    public func handlerAdded(context: ChannelHandlerContext) {
        // Added to a channel that is already connected: there will be no channelActive to start from.
        if context.channel.isActive {
            startHandshake(context: context)
        }
    }

    /// Stops the timers and fails whatever is still waiting to be written.
    public func handlerRemoved(context: ChannelHandlerContext) {
        let previous = state
        state = .closed
        cancelTimer(of: previous)
        pendingWrites.failAll(ChannelError.ioOnClosedChannel)
        closePromise?.fail(ChannelError.ioOnClosedChannel)
        closePromise = nil
    }

    /// Passes the event on, then starts the handshake.
    public func channelActive(context: ChannelHandlerContext) {
        // Pass it on first: a handshake that fails at once closes the channel, and channelInactive only
        // makes sense to handlers that saw channelActive.
        context.fireChannelActive()
        startHandshake(context: context)
    }

    /// Reports a connection lost during the handshake or without `close_notify`, then passes the event on.
    public func channelInactive(context: ChannelHandlerContext) {
        let previous = state
        state = .closed
        cancelTimer(of: previous)

        let error: TLSError?
        switch previous {
        case .idle, .closed:
            error = nil
        case .handshaking:
            error = TLSError(
                .closedDuringHandshake,
                "the \(peerName) closed the connection during the TLS handshake; it may have refused our "
                    + "certificate, ALPN or TLS version, or not speak TLS: check its logs"
            )
        case .active:
            error = TLSError(
                .uncleanShutdown,
                "the \(peerName) closed the connection without a TLS close_notify; the last data it sent may be "
                    + "truncated: treat anything incomplete as lost"
            )
        case .closing:
            // We started the shutdown and want nothing more from the peer; that it closed without
            // answering our close_notify cannot truncate anything we care about.
            error = nil
        }
        if let error {
            context.fireErrorCaught(error)
        }
        pendingWrites.failAll(error ?? ChannelError.ioOnClosedChannel)
        // The socket is closed, which is what a pending close() asked for.
        closePromise?.succeed(())
        closePromise = nil
        context.fireChannelInactive()
    }

    // MARK: Inbound

    /// Takes ciphertext: advances the handshake, or decrypts application data and the peer's `close_notify`.
    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let ciphertext = unwrapInboundIn(data)
        switch state {
        case .idle:
            connection.receive(ciphertext)
            startHandshake(context: context)
        case .handshaking:
            connection.receive(ciphertext)
            handshakeStep(context: context)
        case .active, .closing:
            connection.receive(ciphertext)
            decode(context: context)
            // OpenSSL may have been waiting to read before it could write (a post-handshake message).
            if case .active = state, pendingWrites.hasFlushed {
                encodePendingWrites(context: context)
            }
        case .closed:
            // After a failure or a completed shutdown nothing more is read; the socket is closing.
            break
        }
    }

    /// Passes the plaintext decrypted since the last call up the pipeline, and sends what OpenSSL has to send.
    public func channelReadComplete(context: ChannelHandlerContext) {
        if !deliverPlaintext(context: context) {
            // Nothing reached the pipeline, so no one above will ask for more: with autoRead off, ask here,
            // or a connection in the middle of a handshake or record would stall.
            if let autoRead = try? context.channel.syncOptions?.getOption(ChannelOptions.autoRead), !autoRead {
                context.read()
            }
        }
        writeOutput(context: context)
        connection.releaseIdleMemory()
    }

    /// Treats the peer's FIN (`ChannelEvent.inputClosed`) as the end it is in TLS; passes other events on.
    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard case ChannelEvent.inputClosed = event else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        // Only seen with allowRemoteHalfClosure: the peer's FIN. TLS has its own end of stream
        // (close_notify), so a FIN without it is an end as abrupt as a reset.
        switch state {
        case .idle, .closed:
            context.fireUserInboundEventTriggered(event)
        case .handshaking:
            fail(
                context: context,
                TLSError(
                    .closedDuringHandshake,
                    "the \(peerName) closed its side of the connection during the TLS handshake"
                )
            )
        case .active:
            fail(
                context: context,
                TLSError(
                    .uncleanShutdown,
                    "the \(peerName) closed its side of the connection without a TLS close_notify; the last data "
                        + "it sent may be truncated: treat anything incomplete as lost"
                )
            )
        case .closing(let timeout):
            timeout.cancel()
            state = .closed
            context.close(promise: takeClosePromise())
        }
    }

    // MARK: Outbound

    /// Queues plaintext; it is encrypted at the next flush once the handshake has completed.
    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch state {
        case .idle, .handshaking, .active:
            pendingWrites.append(unwrapOutboundIn(data), promise: promise)
        case .closing:
            promise?.fail(ChannelError.outputClosed)
        case .closed:
            promise?.fail(ChannelError.ioOnClosedChannel)
        }
    }

    /// Encrypts and sends the queued plaintext, or marks it to be sent when the handshake completes.
    public func flush(context: ChannelHandlerContext) {
        switch state {
        case .idle, .handshaking:
            // Sent when the handshake completes.
            pendingWrites.markFlushed()
        case .active:
            pendingWrites.markFlushed()
            encodePendingWrites(context: context)
        case .closing, .closed:
            break
        }
    }

    /// Closes the TLS session with `close_notify` (mode `.all` only), then the channel.
    public func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        guard mode == .all else {
            promise?.fail(ChannelError.operationUnsupported)
            return
        }
        switch state {
        case .idle:
            state = .closed
            context.close(promise: promise)
        case .handshaking(let timeout):
            // OpenSSL cannot send close_notify in the middle of a handshake, and no data has been
            // exchanged that could be truncated: just close.
            timeout.cancel()
            state = .closed
            pendingWrites.failAll(ChannelError.ioOnClosedChannel)
            context.close(promise: promise)
        case .active:
            startShutdown(context: context, promise: promise)
        case .closing:
            if let promise {
                if let closePromise {
                    closePromise.futureResult.cascade(to: promise)
                } else {
                    closePromise = promise
                }
            }
        case .closed:
            context.close(promise: promise)
        }
    }

    /// Handles ``TLSCloseWithoutWaiting``; passes other events on.
    public func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        guard event is TLSCloseWithoutWaiting else {
            context.triggerUserOutboundEvent(event, promise: promise)
            return
        }
        switch state {
        case .idle, .handshaking, .closed:
            close(context: context, mode: .all, promise: promise)
        case .active:
            encodePendingWrites(context: context)
            guard case .active = state else {
                // Encoding failed and closed the channel already.
                promise?.succeed()
                return
            }
            pendingWrites.failAll(ChannelError.outputClosed)
            _ = connection.shutdown()  // queues our close_notify; the peer's is not waited for
            writeOutput(context: context)
            state = .closed
            context.close(promise: promise)
        case .closing(let timeout):
            timeout.cancel()
            state = .closed
            if let closing = takeClosePromise() {
                if let promise { closing.futureResult.cascade(to: promise) }
                context.close(promise: closing)
            } else {
                context.close(promise: promise)
            }
        }
    }

    // MARK: Handshake

    private func startHandshake(context: ChannelHandlerContext) {
        guard case .idle = state else { return }
        let timeout = context.eventLoop.assumeIsolated().scheduleTask(in: handshakeTimeout) {
            guard case .handshaking = self.state else { return }
            self.fail(
                context: context,
                TLSError(
                    .handshakeTimedOut,
                    "the TLS handshake with the \(self.peerName) did not finish within \(self.handshakeTimeout); "
                        + "it may not speak TLS, or the network is stalled"
                )
            )
        }
        state = .handshaking(timeout: timeout)
        handshakeStep(context: context)
    }

    private func handshakeStep(context: ChannelHandlerContext) {
        switch connection.handshake() {
        case .needsInput:
            writeOutput(context: context)
        case .complete:
            completeHandshake(context: context)
        case .failed(let error):
            fail(context: context, error)
        }
    }

    private func completeHandshake(context: ChannelHandlerContext) {
        guard case .handshaking(let timeout) = state else { return }
        timeout.cancel()
        let configuration = connection.context.configuration

        // OpenSSL lets a client finish a handshake in which the server chose no protocol; we do not, when
        // one is required (a server refuses such a client in the handshake itself).
        if configuration.role == .client, configuration.requiresApplicationProtocol,
            !configuration.applicationProtocols.isEmpty, connection.negotiatedApplicationProtocol == nil
        {
            let offered = configuration.applicationProtocols.joined(separator: ", ")
            fail(
                context: context,
                TLSError(
                    .noApplicationProtocol,
                    "the server chose none of the ALPN protocols offered (\(offered)); it may not serve this "
                        + "protocol, or it does not support ALPN"
                )
            )
            return
        }

        state = .active
        // Our last handshake flight, and on a TLS 1.3 server the session tickets OpenSSL wrote after it.
        writeOutput(context: context)

        let summary = connection.handshakeSummary()
        handshakeResult = summary
        context.fireUserInboundEventTriggered(summary)

        // Application data may have arrived with the peer's last handshake message, and writes may have
        // been waiting for the handshake; the event above may also have closed us, hence the checks.
        guard case .active = state else { return }
        decode(context: context)
        guard case .active = state else { return }
        encodePendingWrites(context: context)
    }

    // MARK: Reading

    /// Decrypts everything OpenSSL can from the ciphertext received so far into `plaintext`, which is
    /// passed on at `channelReadComplete` (or before a close or a failure).
    private func decode(context: ChannelHandlerContext) {
        let bound = connection.readablePlaintextBound
        guard bound > 0 else { return }
        // Take the buffer out so that ours is its only reference and SSL_read writes without copying it.
        var buffer =
            plaintext
            ?? context.channel.allocator.buffer(capacity: min(bound, Self.maximumInitialPlaintextCapacity))
        plaintext = nil
        while true {
            switch connection.read(into: &buffer) {
            case .bytes:
                continue
            case .needsInput:
                plaintext = buffer
                return
            case .closeNotify:
                plaintext = buffer
                deliverPlaintext(context: context)
                peerSentCloseNotify(context: context)
                return
            case .failed(let error):
                plaintext = buffer
                deliverPlaintext(context: context)
                fail(context: context, error)
                return
            }
        }
    }

    /// Passes decrypted bytes up the pipeline, if there are any, and keeps the buffer for the next read.
    @discardableResult
    private func deliverPlaintext(context: ChannelHandlerContext) -> Bool {
        guard var buffer = plaintext, buffer.readableBytes > 0 else { return false }
        plaintext = nil
        context.fireChannelRead(wrapInboundOut(buffer))
        // If the pipeline has let go of the bytes, clear() recycles the storage without allocating;
        // if it kept them, clear() gives us fresh storage and leaves theirs alone.
        if plaintext == nil, buffer.capacity <= Self.retainedPlaintextCapacity {
            buffer.clear()
            plaintext = buffer
        }
        context.fireChannelReadComplete()
        return true
    }

    // MARK: Writing

    /// Encrypts every flushed write and hands the ciphertext to the channel, completing their promises
    /// when it has been written to the socket.
    private func encodePendingWrites(context: ChannelHandlerContext) {
        // The promises of the writes encoded here all complete with the channel write that carries their
        // last byte: the first one stands for the others, so a single promise needs no allocation.
        var promise: EventLoopPromise<Void>? = nil
        while var write = pendingWrites.popFlushed() {
            var finished = true
            encoding: while write.data.readableBytes > 0 {
                switch connection.write(&write.data) {
                case .wrote:
                    if connection.pendingOutputBytes >= Self.outputChunkSize,
                        let chunk = connection.takeOutput(allocator: context.channel.allocator)
                    {
                        context.write(wrapOutboundOut(chunk), promise: nil)
                    }
                case .needsInput:
                    // Resumed after the next read (channelRead); what is encrypted so far goes out now.
                    pendingWrites.pushBackFlushed(write)
                    finished = false
                    break encoding
                case .failed(let error):
                    write.promise?.fail(error)
                    promise?.fail(error)
                    fail(context: context, error)
                    return
                }
            }
            guard finished else { break }
            if let writePromise = write.promise {
                if let promise {
                    promise.futureResult.cascade(to: writePromise)
                } else {
                    promise = writePromise
                }
            }
        }
        writeOutput(context: context, promise: promise)
        connection.releaseIdleMemory()
    }

    /// Hands whatever ciphertext OpenSSL has produced to the channel and flushes it; `promise` completes
    /// with that write.
    private func writeOutput(context: ChannelHandlerContext, promise: EventLoopPromise<Void>? = nil) {
        if let output = connection.takeOutput(allocator: context.channel.allocator) {
            context.writeAndFlush(wrapOutboundOut(output), promise: promise)
        } else if let promise {
            // Only empty writes: complete them in order with everything written before.
            context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(capacity: 0)), promise: promise)
        }
    }

    // MARK: Closing

    /// Sends our close_notify after everything flushed so far, and waits for the peer's.
    private func startShutdown(context: ChannelHandlerContext, promise: EventLoopPromise<Void>?) {
        encodePendingWrites(context: context)
        guard case .active = state else {
            // Encoding failed and closed the channel already.
            promise?.fail(ChannelError.alreadyClosed)
            return
        }
        pendingWrites.failAll(ChannelError.outputClosed)
        closePromise = promise
        switch connection.shutdown() {
        case .needsInput:
            let timeout = context.eventLoop.assumeIsolated().scheduleTask(in: closeNotifyTimeout) {
                guard case .closing = self.state else { return }
                self.state = .closed
                context.fireErrorCaught(
                    TLSError(
                        .closeTimedOut,
                        "the \(self.peerName) did not answer our TLS close_notify within \(self.closeNotifyTimeout); "
                            + "the connection was closed anyway"
                    )
                )
                context.close(promise: self.takeClosePromise())
            }
            state = .closing(timeout: timeout)
            writeOutput(context: context)
        case .complete:
            writeOutput(context: context)
            finishShutdown(context: context)
        case .failed(let error):
            fail(context: context, error)
        }
    }

    /// The peer's close_notify arrived: answer it if we have not sent ours, then close.
    private func peerSentCloseNotify(context: ChannelHandlerContext) {
        switch state {
        case .active:
            pendingWrites.failAll(ChannelError.outputClosed)
            if case .failed(let error) = connection.shutdown() {
                fail(context: context, error)
                return
            }
            writeOutput(context: context)
            finishShutdown(context: context)
        case .closing(let timeout):
            timeout.cancel()
            finishShutdown(context: context)
        case .idle, .handshaking, .closed:
            break
        }
    }

    /// Both close_notify alerts are exchanged: tell the pipeline and close the socket.
    private func finishShutdown(context: ChannelHandlerContext) {
        state = .closed
        pendingWrites.failAll(ChannelError.ioOnClosedChannel)
        context.fireUserInboundEventTriggered(TLSShutdownCompleted())
        context.close(promise: takeClosePromise())
    }

    // MARK: Failing

    /// Reports `error` down the pipeline and closes the connection, after sending any alert OpenSSL queued.
    private func fail(context: ChannelHandlerContext, _ error: TLSError) {
        let previous = state
        state = .closed
        cancelTimer(of: previous)
        writeOutput(context: context)
        context.fireErrorCaught(error)
        pendingWrites.failAll(error)
        context.close(promise: takeClosePromise())
    }

    private func cancelTimer(of state: State) {
        switch state {
        case .handshaking(let timeout), .closing(let timeout):
            timeout.cancel()
        case .idle, .active, .closed:
            break
        }
    }

    private func takeClosePromise() -> EventLoopPromise<Void>? {
        defer { closePromise = nil }
        return closePromise
    }

    private var peerName: String {
        connection.context.configuration.role == .server ? "client" : "server"
    }
}

@available(*, unavailable)
extension TLSHandler: Sendable {}
