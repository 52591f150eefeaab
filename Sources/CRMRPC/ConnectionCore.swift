import CRMWire
import NIOCore

/// What the two ends of a crm/1 connection do alike, as a value that needs no channel: the connection's phase with
/// the timers that guard it, SETTINGS, PING and keepalive, both connection windows, the open streams with their
/// windows and queued frames, the queue of streams waiting for credit, and the frames to write next
/// (docs/PROTOCOL.md, sections 7 to 14).
///
/// It is role-parametrised like `FrameParser(role:)`: the client and the server differ only in the words of their
/// errors, in the preface the client sends, and in who opens streams. `ServerConnectionHandler` and
/// `ClientConnectionHandler` are the NIO glue around it and hold only what their role alone does (dispatching calls,
/// waiting for a stream slot). The core never calls out: it takes events (a frame, a write, the time) and returns
/// what the glue must do, so its tests drive it without a channel and with a clock they move themselves.
///
/// Timers are deadlines inside the phase they guard, as in `TLSHandler`: leaving a phase drops its timers, and the
/// glue keeps one scheduled task, armed for `nextDeadline`.
struct ConnectionCore<Stream: ConnectionStream> {
    /// Where the connection is.
    enum Phase {
        /// TLS is not done: nothing sent. The deadline runs from the moment the socket connected.
        case handshaking(timeout: NIODeadline?)
        /// Our SETTINGS are sent (after the client's preface); the peer's first SETTINGS have not arrived.
        case awaitingPeerSettings(timeout: NIODeadline?)
        /// Calls flow.
        case open(Liveness)
        /// GOAWAY sent or received: no new streams; the connection closes when the last one ends, or when the grace
        /// period of a server's graceful shutdown runs out.
        case closing(Liveness, grace: NIODeadline?)
        /// Closing or closed: nothing more is read or sent.
        case closed
    }

    /// The timers of a connection that has opened.
    struct Liveness {
        /// When to look at how long the peer has been quiet (nil: keepalive is off).
        var keepaliveCheck: NIODeadline?
        /// The keepalive PING waiting for its acknowledgement.
        var ping: (opaqueData: UInt64, deadline: NIODeadline)?
        /// When a connection without streams is closed (nil: streams are open, or the idle timeout is off).
        var idle: NIODeadline?
    }

    /// A timer that ran out, for the glue to act on.
    enum Expiry: Equatable {
        /// TLS, the preface and the first SETTINGS did not complete in time (`ProtocolLimits.handshakeTimeout`).
        case handshakeTimeout(TimeAmount)
        /// The server's graceful shutdown ran out of time: reset what is left and close.
        case gracePeriodOver
        /// A keepalive PING is appended; flush it.
        case pingSent
        /// The peer did not acknowledge the keepalive PING: a connection error.
        case keepaliveTimeout(ConnectionFailure)
        /// No stream for the idle timeout: say GOAWAY and close.
        case idle(TimeAmount)
    }

    /// What a control frame (SETTINGS, PING, WINDOW_UPDATE, GOAWAY) asks of the glue.
    enum ControlOutcome {
        /// Nothing: the core handled it.
        case handled
        /// The peer's first SETTINGS: the connection is open.
        case opened
        /// Later SETTINGS: the peer's limits may have grown.
        case settingsChanged
        /// Credit arrived and these streams reached their queued trailers, which the glue sends.
        case trailersDue([(Stream, Trailers)])
        /// The peer is going away.
        case goAway(GoAway)
    }

    let role: ConnectionRole
    let limits: ProtocolLimits
    let decoder: WireDecoder
    private(set) var phase: Phase = .handshaking(timeout: nil)
    /// The peer's limits: the defaults until its first SETTINGS.
    private(set) var peerLimits = ProtocolLimits.default
    private(set) var receivedPeerSettings = false
    private var unacknowledgedSettings = 0
    /// The frames to write at the next flush.
    var frames: OutboundFrames
    /// The open streams by id.
    private(set) var streams: [UInt32: Stream] = [:]
    /// The highest stream id opened so far (by the client: a server sees it in HEADERS, a client chooses it). A frame
    /// for a higher id is a PROTOCOL_ERROR; one for a lower id that is not open is late and discarded.
    private(set) var highestStreamID: UInt32 = 0
    private var connectionReceive: ReceiveWindow
    private var connectionSend = SendWindow(initial: ProtocolLimits.default.connectionWindowSize)
    /// Streams waiting for connection or stream credit, in the order they blocked.
    private var blockedStreams = CircularBuffer<UInt32>()
    private var lastReadTime: NIODeadline

    init(role: ConnectionRole, limits: ProtocolLimits, allocator: ByteBufferAllocator = ByteBufferAllocator(), now: NIODeadline) {
        self.role = role
        self.limits = limits
        decoder = WireDecoder(limits: limits.wireLimits)
        frames = OutboundFrames(allocator: allocator)
        connectionReceive = ReceiveWindow(
            initial: limits.connectionWindowSize, largestMessage: limits.maxPayloadSize(of: .message))
        lastReadTime = now
    }

    // MARK: Phase

    /// Whether frames from the peer are read: not before TLS is done, not once closed.
    var readsFrames: Bool {
        switch phase {
        case .handshaking, .closed: false
        case .awaitingPeerSettings, .open, .closing: true
        }
    }

    var isClosed: Bool {
        if case .closed = phase { true } else { false }
    }

    /// The socket connected: the handshake timeout starts.
    mutating func connected(now: NIODeadline) {
        guard case .handshaking(nil) = phase else { return }
        phase = .handshaking(timeout: now + limits.handshakeTimeout)
        lastReadTime = now
    }

    /// TLS is done: the client's preface and our SETTINGS are appended. False when the connection was past that.
    mutating func tlsEstablished() -> Bool {
        guard case .handshaking(let timeout) = phase else { return false }
        if role == .client { frames.appendPreface() }
        frames.appendControl(.settings, streamID: .connection, message: limits.settings)
        unacknowledgedSettings += 1
        phase = .awaitingPeerSettings(timeout: timeout)
        return true
    }

    /// A read completed: the peer is alive.
    mutating func readComplete(now: NIODeadline) {
        lastReadTime = now
    }

    /// No new streams from now on (GOAWAY sent or received); a server's graceful shutdown gives the open ones until
    /// `grace`.
    mutating func beginClosing(grace: NIODeadline? = nil) {
        switch phase {
        case .open(var liveness), .closing(var liveness, _):
            liveness.idle = nil
            phase = .closing(liveness, grace: grace)
        case .handshaking, .awaitingPeerSettings:
            phase = .closing(Liveness(), grace: grace)
        case .closed:
            break
        }
    }

    /// Nothing more is read or sent; every timer stops.
    mutating func close() {
        phase = .closed
    }

    // MARK: Timers

    /// The earliest deadline of the current phase, for the glue's one timer.
    var nextDeadline: NIODeadline? {
        switch phase {
        case .handshaking(let timeout), .awaitingPeerSettings(let timeout):
            return timeout
        case .open(let liveness):
            return liveness.earliest
        case .closing(let liveness, let grace):
            return earlier(liveness.earliest, grace)
        case .closed:
            return nil
        }
    }

    /// The first timer that has run out at `now`, with what it changed; nil when none has. Call until nil.
    mutating func expire(now: NIODeadline) -> Expiry? {
        switch phase {
        case .handshaking(let timeout?):
            guard timeout <= now else { return nil }
            phase = .handshaking(timeout: nil)
            return .handshakeTimeout(limits.handshakeTimeout)
        case .awaitingPeerSettings(let timeout?):
            guard timeout <= now else { return nil }
            phase = .awaitingPeerSettings(timeout: nil)
            return .handshakeTimeout(limits.handshakeTimeout)
        case .handshaking(nil), .awaitingPeerSettings(nil), .closed:
            return nil
        case .closing(let liveness, let grace?) where grace <= now:
            phase = .closing(liveness, grace: nil)
            return .gracePeriodOver
        case .open(var liveness):
            let expiry = expire(&liveness, now: now)
            phase = .open(liveness)
            return expiry
        case .closing(var liveness, let grace):
            let expiry = expire(&liveness, now: now)
            phase = .closing(liveness, grace: grace)
            return expiry
        }
    }

    private mutating func expire(_ liveness: inout Liveness, now: NIODeadline) -> Expiry? {
        if let ping = liveness.ping, ping.deadline <= now {
            liveness.ping = nil
            return .keepaliveTimeout(
                ConnectionFailure(
                    .keepaliveTimeout,
                    "the \(role.peer) did not acknowledge a PING within \(limits.keepaliveTimeout.wholeMilliseconds) ms; "
                        + "the connection is presumed dead"))
        }
        if let check = liveness.keepaliveCheck, check <= now {
            let interval = limits.keepaliveInterval
            let quiet = now - lastReadTime
            if quiet < interval {
                // Heard from lately: look again when the interval since the last read is over.
                liveness.keepaliveCheck = now + (interval - quiet)
            } else if liveness.ping == nil {
                liveness.keepaliveCheck = now + interval
                let opaque = UInt64.random(in: 1...UInt64.max)
                liveness.ping = (opaque, now + limits.keepaliveTimeout)
                frames.appendControl(.ping, streamID: .connection, message: Ping(opaqueData: opaque, ack: false))
                return .pingSent
            } else {
                liveness.keepaliveCheck = now + interval
            }
        }
        if let idle = liveness.idle, idle <= now {
            liveness.idle = nil
            return streams.isEmpty ? .idle(limits.idleTimeout) : nil
        }
        return nil
    }

    /// The last stream ended: the idle timeout starts (while the connection is open).
    private mutating func startIdleClock(now: NIODeadline) {
        guard limits.idleTimeout.nanoseconds > 0, case .open(var liveness) = phase, liveness.idle == nil else { return }
        liveness.idle = now + limits.idleTimeout
        phase = .open(liveness)
    }

    /// Changes the timers of an open or closing connection.
    private mutating func updateLiveness(_ change: (inout Liveness) -> Void) {
        switch phase {
        case .open(var liveness):
            change(&liveness)
            phase = .open(liveness)
        case .closing(var liveness, let grace):
            change(&liveness)
            phase = .closing(liveness, grace: grace)
        case .handshaking, .awaitingPeerSettings, .closed:
            break
        }
    }

    // MARK: Control frames

    /// Decodes a control payload; a malformed one is a connection error.
    func decode<M: WireMessage>(_ frame: Frame, as type: M.Type) throws(ConnectionFailure) -> M {
        try decoding { () throws(FrameError) in try frame.decodeControlPayload(as: type, using: decoder) }
    }

    /// Runs a frame-layer decoding; its error is a connection error.
    private func decoding<T>(_ body: () throws(FrameError) -> T) throws(ConnectionFailure) -> T {
        do throws(FrameError) {
            return try body()
        } catch {
            throw ConnectionFailure(error)
        }
    }

    /// Handles SETTINGS, PING, WINDOW_UPDATE and GOAWAY.
    mutating func receiveControl(_ frame: Frame, now: NIODeadline) throws(ConnectionFailure) -> ControlOutcome {
        switch frame.type {
        case .settings: return try receiveSettings(frame, now: now)
        case .ping: return try receivePing(frame)
        case .windowUpdate: return try receiveWindowUpdate(frame)
        case .goAway: return .goAway(try decode(frame, as: GoAway.self))
        case .headers, .message, .trailers, .rstStream:
            preconditionFailure("\(frame.type) is a stream frame, handled by the connection's role")
        }
    }

    private mutating func receiveSettings(_ frame: Frame, now: NIODeadline) throws(ConnectionFailure) -> ControlOutcome {
        let settings = try decoding { () throws(FrameError) in try frame.decodeSettings(using: decoder) }
        if !settings.ack {
            let isFirst = !receivedPeerSettings
            peerLimits = try decoding { () throws(FrameError) in try peerLimits.applying(settings, isFirst: isFirst) }
        }
        if settings.ack {
            guard unacknowledgedSettings > 0 else {
                throw ConnectionFailure(
                    .protocolError, "a SETTINGS acknowledgement arrived but no SETTINGS frame of the \(role) awaits one")
            }
            unacknowledgedSettings -= 1
            return .handled
        }
        frames.appendControl(.settings, flags: .ack, streamID: .connection, message: Settings(ack: true))
        guard !receivedPeerSettings else { return .settingsChanged }
        receivedPeerSettings = true
        connectionSend = SendWindow(initial: peerLimits.connectionWindowSize)
        let keepalive = limits.keepaliveInterval.nanoseconds > 0 ? now + limits.keepaliveInterval : nil
        switch phase {
        case .handshaking, .awaitingPeerSettings:
            phase = .open(Liveness(keepaliveCheck: keepalive))
            if streams.isEmpty { startIdleClock(now: now) }
        case .open, .closing, .closed:
            updateLiveness { $0.keepaliveCheck = keepalive }
        }
        return .opened
    }

    private mutating func receivePing(_ frame: Frame) throws(ConnectionFailure) -> ControlOutcome {
        let ping = try decoding { () throws(FrameError) in try frame.decodePing(using: decoder) }
        if ping.ack {
            updateLiveness { if $0.ping?.opaqueData == ping.opaqueData { $0.ping = nil } }
        } else {
            frames.appendControl(
                .ping, flags: .ack, streamID: .connection, message: Ping(opaqueData: ping.opaqueData, ack: true))
        }
        return .handled
    }

    private mutating func receiveWindowUpdate(_ frame: Frame) throws(ConnectionFailure) -> ControlOutcome {
        let increment = try decoding { () throws(FrameError) in try frame.decodeWindowUpdate(using: decoder) }.incrementBytes
        guard frame.streamID != .connection else {
            guard connectionSend.grant(increment) else {
                throw ConnectionFailure(
                    .flowControlError,
                    "a WINDOW_UPDATE of \(increment) bytes would take the connection window over 2147483647 bytes")
            }
            return .trailersDue(drainBlockedStreams())
        }
        guard let stream = try openStream(for: frame) else { return .handled }  // closed: discarded
        guard stream.sendWindow.grant(increment) else {
            throw ConnectionFailure(
                .flowControlError,
                "a WINDOW_UPDATE of \(increment) bytes would take the window of stream \(frame.streamID) over 2147483647 bytes")
        }
        return .trailersDue(drain(stream).map { [(stream, $0)] } ?? [])
    }

    /// Appends a GOAWAY.
    mutating func appendGoAway(_ goAway: GoAway) {
        frames.appendControl(.goAway, streamID: .connection, message: goAway)
    }

    // MARK: Streams

    /// The open stream a stream frame is for; nil when that stream is over (the frame is late and discarded).
    /// A frame for a stream never opened is a PROTOCOL_ERROR.
    func openStream(for frame: Frame) throws(ConnectionFailure) -> Stream? {
        guard frame.streamID.rawValue <= highestStreamID else {
            let rule =
                role == .server
                ? "which was never opened; a client opens a stream with HEADERS first" : "which the client never opened"
            throw ConnectionFailure(.protocolError, "\(frame.type) on stream \(frame.streamID), \(rule)")
        }
        return streams[frame.streamID.rawValue]
    }

    /// Records `id` as the highest stream id opened so far.
    mutating func claim(_ id: StreamID) {
        highestStreamID = max(highestStreamID, id.rawValue)
    }

    /// Starts tracking an open stream; the connection is no longer idle.
    mutating func insert(_ stream: Stream) {
        streams[stream.id.rawValue] = stream
        if case .open(let liveness) = phase, liveness.idle != nil { updateLiveness { $0.idle = nil } }
    }

    /// Forgets a stream: what it still had to send fails with `status`, its unread bytes return to the connection
    /// window. False when it was not open. When it was the last, the idle timeout starts.
    /// (`status` and `now` are made only when needed: a stream closes on every call.)
    @discardableResult
    mutating func remove(
        _ stream: Stream, failingWritesWith status: @autoclosure () -> RPCStatus, now: @autoclosure () -> NIODeadline
    ) -> Bool {
        guard streams.removeValue(forKey: stream.id.rawValue) != nil else { return false }
        stream.state = .closed
        stream.stopTimers()
        stream.failPending(with: status())
        consumeConnection(stream.receiveWindow.dropBuffered())
        if streams.isEmpty { startIdleClock(now: now()) }
        return true
    }

    /// Forgets every stream (the connection is gone), in stream order; their queued writes fail with `status`.
    mutating func removeAll(failingWritesWith status: RPCStatus) -> [Stream] {
        let open = streams.values.sorted { $0.id < $1.id }
        streams.removeAll()
        for stream in open {
            stream.stopTimers()
            stream.failPending(with: status)
        }
        return open
    }

    // MARK: Receiving

    /// Accounts a MESSAGE against the connection window and returns its open stream; a MESSAGE for a stream that is
    /// over gives its bytes back at once and returns nil.
    mutating func receiveMessage(_ frame: Frame) throws(ConnectionFailure) -> Stream? {
        let size = frame.payload.readableBytes
        let stream = try openStream(for: frame)
        guard connectionReceive.receive(size) else {
            throw ConnectionFailure(
                .flowControlError,
                "a MESSAGE of \(size) bytes on stream \(frame.streamID) is larger than the "
                    + "\(connectionReceive.senderRemaining) bytes left in the connection window; wait for WINDOW_UPDATE")
        }
        guard let stream else {
            consumeConnection(size)
            return nil
        }
        return stream
    }

    /// Accounts a MESSAGE of an open stream against the stream's window.
    func charge(_ frame: Frame, to stream: Stream) throws(ConnectionFailure) {
        let size = frame.payload.readableBytes
        guard stream.receiveWindow.receive(size) else {
            throw ConnectionFailure(
                .flowControlError,
                "a MESSAGE of \(size) bytes on stream \(frame.streamID) is larger than the "
                    + "\(stream.receiveWindow.senderRemaining) bytes left in its window; wait for WINDOW_UPDATE")
        }
    }

    /// The application consumed `bytes` of `stream`'s messages: return the credit, when the rules call for it.
    mutating func consume(_ bytes: Int, on stream: Stream) {
        guard bytes > 0 else { return }
        if let increment = stream.receiveWindow.consume(bytes), !stream.state.peerFinished {
            frames.appendControl(.windowUpdate, streamID: stream.id, message: WindowUpdate(incrementBytes: increment))
        }
        consumeConnection(bytes)
    }

    /// Gives `bytes` back on the connection window (consumed or discarded).
    mutating func consumeConnection(_ bytes: Int) {
        guard bytes > 0, let increment = connectionReceive.consume(bytes) else { return }
        frames.appendControl(.windowUpdate, streamID: .connection, message: WindowUpdate(incrementBytes: increment))
    }

    // MARK: Sending

    /// Appends a frame for `stream` whose size the peer's limit for its type bounds (HEADERS, TRAILERS).
    mutating func append<M: WireMessage>(
        _ type: FrameType, flags: FrameFlags = [], on stream: StreamID, message: M
    ) throws(OutboundFrameError) {
        try frames.append(type, flags: flags, streamID: stream, message: message, limit: peerLimits.maxPayloadSize(of: type))
    }

    /// Encodes `message` as a MESSAGE on `stream` and sends it at the next flush if both windows allow, else queues
    /// it until credit arrives. Its writer (`continuation`) resumes once it is sent.
    mutating func enqueue<M: WireMessage>(
        _ message: M, endStream: Bool = false, on stream: Stream, continuation: CheckedContinuation<Void, any Error>?
    ) throws(OutboundFrameError) {
        let length = try frames.append(
            .message, streamID: stream.id, message: message, limit: peerLimits.maxPayloadSize(of: .message))
        if stream.pending.isEmpty, stream.sendWindow.permits(length), connectionSend.permits(length) {
            stream.sendWindow.spend(length)
            connectionSend.spend(length)
            if endStream { endRequests(on: stream, afterMessageOf: length) }
            continuation?.resume()
        } else {
            stream.pending.append(.message(frames.removeLast(payloadLength: length), endStream: endStream, continuation))
            markBlocked(stream)
        }
    }

    /// Ends the client's requests: the empty END_STREAM MESSAGE now, or after what waits for credit.
    mutating func halfClose(_ stream: Stream) {
        guard stream.pending.isEmpty else {
            stream.pending.append(.endOfRequests)
            return
        }
        frames.append(Frame.endOfRequests(streamID: stream.id))
        stream.state.sendEndStream()
    }

    /// END_STREAM after the message just appended: on the message itself, or for an empty message (which with
    /// END_STREAM would mean "no message") as a separate empty END_STREAM frame.
    private mutating func endRequests(on stream: Stream, afterMessageOf length: Int) {
        if length > 0 {
            frames.setEndStreamOnLastFrame(payloadLength: length)
        } else {
            frames.append(Frame.endOfRequests(streamID: stream.id))
        }
        stream.state.sendEndStream()
    }

    private mutating func markBlocked(_ stream: Stream) {
        guard !stream.isBlocked else { return }
        stream.isBlocked = true
        blockedStreams.append(stream.id.rawValue)
    }

    /// The connection window grew: the waiting streams get it in the order they blocked; those still short mark
    /// themselves blocked again.
    private mutating func drainBlockedStreams() -> [(Stream, Trailers)] {
        let ids = blockedStreams
        blockedStreams.removeAll()
        var trailersDue: [(Stream, Trailers)] = []
        for id in ids {
            guard let stream = streams[id] else { continue }
            stream.isBlocked = false
            if let trailers = drain(stream) { trailersDue.append((stream, trailers)) }
        }
        return trailersDue
    }

    /// Sends what waits on `stream` while both windows allow; returns its trailers once everything before them is
    /// sent (the glue sends them: the server's trailers carry more than a frame).
    private mutating func drain(_ stream: Stream) -> Trailers? {
        while let first = stream.pending.first {
            switch first {
            case .message(let payload, let endStream, let continuation):
                let length = payload.readableBytes
                guard stream.sendWindow.permits(length), connectionSend.permits(length) else {
                    markBlocked(stream)
                    return nil
                }
                stream.pending.removeFirst()
                stream.sendWindow.spend(length)
                connectionSend.spend(length)
                frames.append(Frame.message(payload, streamID: stream.id))
                if endStream { endRequests(on: stream, afterMessageOf: length) }
                continuation?.resume()
            case .endOfRequests:
                stream.pending.removeFirst()
                frames.append(Frame.endOfRequests(streamID: stream.id))
                stream.state.sendEndStream()
            case .trailers(let trailers):
                stream.pending.removeFirst()
                return trailers
            }
        }
        return nil
    }

}

extension ConnectionCore.Liveness {
    fileprivate var earliest: NIODeadline? {
        earlier(earlier(keepaliveCheck, ping?.deadline), idle)
    }
}

/// The earlier of two optional deadlines (computed on every flush: no array).
private func earlier(_ a: NIODeadline?, _ b: NIODeadline?) -> NIODeadline? {
    guard let a else { return b }
    guard let b else { return a }
    return min(a, b)
}

extension TimeAmount {
    /// Whole milliseconds, for messages.
    var wholeMilliseconds: Int64 { nanoseconds / 1_000_000 }
}
