import CRMWire
import NIOCore

/// The NIO glue both connection handlers share around their `ConnectionCore`: reading frames into it, writing what it
/// appended, its one timer, and closing the channel. A handler supplies what its role alone does with the frames,
/// expiries and control outcomes the core hands back.
protocol ConnectionHandling: AnyObject {
    associatedtype Stream: ConnectionStream
    var core: ConnectionCore<Stream> { get set }
    var timer: ConnectionTimer { get set }
    var flushScheduled: Bool { get set }
    var context: ChannelHandlerContext? { get }
    var ref: ConnectionRef<Self>? { get set }

    /// HEADERS, MESSAGE, TRAILERS or RST_STREAM from the peer.
    func receiveStreamFrame(_ frame: Frame) throws(ConnectionFailure)
    /// What a control frame asks of the role.
    func react(to outcome: ConnectionCore<Stream>.ControlOutcome)
    /// A timer of the core ran out.
    func expired(_ expiry: ConnectionCore<Stream>.Expiry)
    /// A connection error: GOAWAY with its status where the role sends one, then close.
    func fail(_ failure: ConnectionFailure)
    /// The connection is closed or closing: stop the timers and end every call still open. `closedHere`: this end
    /// closed it (a connection error, the idle timeout, a shutdown), rather than the peer or the network.
    func connectionGone(closedHere: Bool)
}

extension ConnectionHandling {
    /// How tasks reach this handler; valid once the handler is in a pipeline.
    func makeRef(eventLoop: any EventLoop) -> ConnectionRef<Self> {
        if let ref { return ref }
        let ref = ConnectionRef(eventLoop: eventLoop, handler: NIOLoopBound(self, eventLoop: eventLoop))
        self.ref = ref
        return ref
    }

    /// The event loop's clock, which the timers use too (a testing loop's may be virtual).
    var now: NIODeadline { context?.eventLoop.now ?? .now() }

    /// A frame from the peer: control frames go to the core, stream frames to the role; a connection error closes.
    func receive(_ frame: Frame) {
        guard core.readsFrames else { return }
        do throws(ConnectionFailure) {
            switch frame.type {
            case .settings, .ping, .windowUpdate, .goAway:
                react(to: try core.receiveControl(frame, now: now))
            case .headers, .message, .trailers, .rstStream:
                try receiveStreamFrame(frame)
            }
        } catch {
            fail(error)
        }
    }

    /// A read completed: the peer is alive; what the frames asked for goes out in one write.
    func readComplete() {
        core.readComplete(now: now)
        flush()
    }

    /// The socket connected: the handshake timeout starts.
    func connected() {
        core.connected(now: now)
        armTimer()
    }

    /// Writes what the core appended and arms the timer for its next deadline.
    func flush() {
        guard let context else { return }
        // No access to `core` may last across the write: a failed write closes the channel at once, and the
        // handler's close reads and changes `core` (overlapping accesses trap).
        if let count = Self.write(core.frames.pending, to: context) { core.frames.written(count) }
        armTimer()
    }

    /// Writes and flushes `bytes`; returns how many. The copy is gone when this returns, so the core's buffer is
    /// the storage's only owner again and can be reused.
    private static func write(_ bytes: ByteBuffer?, to context: ChannelHandlerContext) -> Int? {
        guard let bytes else { return nil }
        context.write(NIOAny(bytes), promise: nil)
        context.flush()
        return bytes.readableBytes
    }

    /// Flushes once the event loop has run the tasks already queued: calls that finish in the same tick share one
    /// write (one TLS record, one syscall).
    func scheduleFlush() {
        guard !flushScheduled, let context else { return }
        flushScheduled = true
        context.eventLoop.assumeIsolated().execute {
            self.flushScheduled = false
            self.flush()
        }
    }

    private func armTimer() {
        guard let context else { return }
        timer.arm(for: core.nextDeadline, on: context.eventLoop) { self.timerFired() }
    }

    private func timerFired() {
        timer.fired()
        while context != nil, let expiry = core.expire(now: now) {
            expired(expiry)
        }
        flush()
    }

    /// Flushes what is pending and closes the channel; open calls end. After a connection error (`afterError`) the
    /// socket closes without waiting for the peer's TLS close_notify.
    func closeChannel(afterError: Bool) {
        guard let context, !core.isClosed else { return }
        flush()
        connectionGone(closedHere: true)
        if afterError { context.closeAfterConnectionError() } else { context.close(promise: nil) }
    }
}
