@testable import CRMRPC
import CRMWire
import NIOCore
import Testing

/// The connection core of both roles without a channel: events in, frames and expiries out, on a clock the test
/// moves by hand.
@Suite("Connection core")
struct ConnectionCoreTests {
    private let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000)

    @Test("the handshake timeout runs from connecting, through TLS, until the peer's first SETTINGS", arguments: [ConnectionRole.client, .server])
    func handshakeTimeout(role: ConnectionRole) throws {
        var core = Core(role: role, limits: ProtocolLimits(handshakeTimeout: .milliseconds(300)), now: t0)
        #expect(core.nextDeadline == nil)
        core.connected(now: t0)
        #expect(core.nextDeadline == t0 + .milliseconds(300))
        let first = core.tlsEstablished()
        #expect(first)
        let second = core.tlsEstablished()
        #expect(!second)
        let sent = try frames(&core, sentBy: role)
        #expect(sent.map(\.type) == [.settings])
        let at299 = core.expire(now: t0 + .milliseconds(299))
        #expect(at299 == nil)
        let at300 = core.expire(now: t0 + .milliseconds(300))
        #expect(at300 == .handshakeTimeout(.milliseconds(300)))
        let again = core.expire(now: t0 + .milliseconds(300))
        #expect(again == nil)
    }

    @Test("the peer's first SETTINGS open the connection, are acknowledged and stop the handshake timeout")
    func firstSettings() throws {
        var core = connectedCore(role: .server, limits: ProtocolLimits(keepaliveInterval: .zero, idleTimeout: .zero))
        let outcome = try core.receiveControl(settingsFrame(ProtocolLimits(maxConcurrentStreams: 3)), now: t0)
        #expect(kind(outcome) == "opened")
        #expect(core.peerLimits.maxConcurrentStreams == 3)
        #expect(core.nextDeadline == nil)
        let sent = try frames(&core, sentBy: .server)
        #expect(sent.map(\.type) == [.settings])
        #expect(sent.first?.flags.contains(.ack) == true)
        let later = try core.receiveControl(Frame(.settings, streamID: .connection, message: Settings(), using: WireEncoder()), now: t0)
        #expect(kind(later) == "settingsChanged")
    }

    @Test("a SETTINGS acknowledgement nothing awaits is a PROTOCOL_ERROR naming the role", arguments: [ConnectionRole.client, .server])
    func unexpectedAcknowledgement(role: ConnectionRole) throws {
        var core = try openCore(role: role)
        let ours = try core.receiveControl(acknowledgement(), now: t0)
        #expect(kind(ours) == "handled")  // ours, sent at TLS
        let unexpected = try acknowledgement()
        do throws(ConnectionFailure) {
            _ = try core.receiveControl(unexpected, now: t0)
            Issue.record("a second acknowledgement was taken")
        } catch {
            #expect(
                error.status.message
                    == "PROTOCOL_ERROR: a SETTINGS acknowledgement arrived but no SETTINGS frame of the \(role) awaits one")
        }
    }

    @Test("keepalive: a PING after the interval of quiet; an acknowledged one keeps the connection, an unanswered one is KEEPALIVE_TIMEOUT")
    func keepalive() throws {
        let limits = ProtocolLimits(keepaliveInterval: .milliseconds(200), keepaliveTimeout: .milliseconds(100), idleTimeout: .zero)
        var core = try openCore(role: .client, limits: limits)
        #expect(core.nextDeadline == t0 + .milliseconds(200))
        // A read at 150 ms: the quiet starts again, the check moves on.
        core.readComplete(now: t0 + .milliseconds(150))
        let afterRead = core.expire(now: t0 + .milliseconds(200))
        #expect(afterRead == nil)
        #expect(core.nextDeadline == t0 + .milliseconds(350))
        let quiet = core.expire(now: t0 + .milliseconds(350))
        #expect(quiet == .pingSent)
        let pingFrames = try frames(&core, sentBy: .client)
        let ping = try #require(pingFrames.first).decodePing(using: WireDecoder())
        #expect(!ping.ack)
        let acknowledged = try core.receiveControl(pingFrame(Ping(opaqueData: ping.opaqueData, ack: true)), now: t0)
        #expect(kind(acknowledged) == "handled")
        core.readComplete(now: t0 + .milliseconds(360))
        let answered = core.expire(now: t0 + .milliseconds(450))
        #expect(answered == nil)  // answered: no timeout
        let nextPing = core.expire(now: t0 + .milliseconds(560))
        #expect(nextPing == .pingSent)
        let beforeTimeout = core.expire(now: t0 + .milliseconds(659))
        #expect(beforeTimeout == nil)
        let timeout = core.expire(now: t0 + .milliseconds(660))
        #expect(
            timeout
                == .keepaliveTimeout(
                    ConnectionFailure(
                        .keepaliveTimeout,
                        "the server did not acknowledge a PING within 100 ms; the connection is presumed dead")))
    }

    @Test("a PING from the peer is answered with its data")
    func pingAnswered() throws {
        var core = try openCore(role: .server)
        let handled = try core.receiveControl(pingFrame(Ping(opaqueData: 42, ack: false)), now: t0)
        #expect(kind(handled) == "handled")
        let answers = try frames(&core, sentBy: .server)
        let answer = try #require(answers.first).decodePing(using: WireDecoder())
        #expect(answer == Ping(opaqueData: 42, ack: true))
    }

    @Test("idle: the timeout runs only while no stream is open, and never once the connection is closing")
    func idle() throws {
        var core = try openCore(role: .server, limits: ProtocolLimits(keepaliveInterval: .zero, idleTimeout: .milliseconds(500)))
        #expect(core.nextDeadline == t0 + .milliseconds(500))
        let stream = TestStream(id: 1)
        core.claim(stream.id)
        core.insert(stream)
        #expect(core.nextDeadline == nil)
        let whileOpen = core.expire(now: t0 + .seconds(1))
        #expect(whileOpen == nil)
        let removed = core.remove(stream, failingWritesWith: RPCStatus(code: .cancelled, message: "over"), now: t0 + .seconds(1))
        #expect(removed)
        let removedTwice = core.remove(stream, failingWritesWith: RPCStatus(code: .cancelled, message: "over"), now: t0 + .seconds(1))
        #expect(!removedTwice)
        #expect(core.nextDeadline == t0 + .milliseconds(1500))
        let idle = core.expire(now: t0 + .milliseconds(1500))
        #expect(idle == .idle(.milliseconds(500)))

        var closing = try openCore(role: .server, limits: ProtocolLimits(keepaliveInterval: .zero, idleTimeout: .milliseconds(500)))
        closing.beginClosing(grace: t0 + .seconds(2))
        #expect(closing.nextDeadline == t0 + .seconds(2))
        let grace = closing.expire(now: t0 + .seconds(2))
        #expect(grace == .gracePeriodOver)
        let afterGrace = closing.expire(now: t0 + .seconds(3))
        #expect(afterGrace == nil)
    }

    @Test("frames for a stream never opened are a PROTOCOL_ERROR; for one that is over, they are discarded", arguments: [ConnectionRole.client, .server])
    func streamNeverOpened(role: ConnectionRole) throws {
        var core = try openCore(role: role)
        let stream = TestStream(id: 3)
        core.claim(stream.id)
        core.insert(stream)
        let onThree = Frame(type: .message, streamID: StreamID(rawValue: 3)!, payload: ByteBuffer(bytes: [1, 2]))
        let open = try core.receiveMessage(onThree)
        #expect(open === stream)
        let onOne = Frame(type: .message, streamID: StreamID(rawValue: 1)!, payload: ByteBuffer(bytes: [1, 2]))
        let over = try core.receiveMessage(onOne)
        #expect(over == nil)
        let onFive = Frame(type: .message, streamID: StreamID(rawValue: 5)!, payload: ByteBuffer())
        #expect(throws: ConnectionFailure.self) { try core.receiveMessage(onFive) }
    }

    @Test("flow control: a message over the stream's window waits; the peer's WINDOW_UPDATE sends it, then the trailers are due")
    func flowControl() throws {
        let peer = ProtocolLimits(
            initialStreamWindowSize: 1_024, connectionWindowSize: 4_096, maxFrameSize: 16_384, maxMessageSize: 1_024)
        var core = try openCore(role: .server, peer: peer)
        let stream = TestStream(id: 1, sendWindow: core.peerLimits.initialStreamWindowSize)
        core.claim(stream.id)
        core.insert(stream)
        let message = GoAway(lastStreamID: 0, statusCode: .ok, message: String(repeating: "x", count: 600))
        try core.enqueue(message, on: stream, continuation: nil)
        try core.enqueue(message, on: stream, continuation: nil)
        #expect(try frames(&core, sentBy: .server).map(\.type) == [.message])
        #expect(stream.isBlocked)
        let trailers = RPCStatus(code: .ok, message: "").trailers()
        stream.pending.append(.trailers(trailers))
        #expect(stream.isEnding)

        let update = try Frame(
            .windowUpdate, streamID: stream.id, message: WindowUpdate(incrementBytes: 1_024), using: WireEncoder())
        let credit = try core.receiveControl(update, now: t0)
        #expect(kind(credit) == "trailersDue [1]")
        #expect(try frames(&core, sentBy: .server).map(\.type) == [.message])
        #expect(stream.pending.isEmpty)

        let overflow = try Frame(
            .windowUpdate, streamID: .connection, message: WindowUpdate(incrementBytes: UInt32(Int32.max)), using: WireEncoder())
        #expect(throws: ConnectionFailure.self) { try core.receiveControl(overflow, now: t0) }
    }

    @Test("a client's requests end with END_STREAM on the last message, or an empty END_STREAM MESSAGE after queued ones")
    func endOfRequests() throws {
        var core = try openCore(role: .client)
        let stream = TestStream(id: 1)
        core.claim(stream.id)
        core.insert(stream)
        try core.enqueue(Ping(opaqueData: 7, ack: false), endStream: true, on: stream, continuation: nil)
        let sent = try frames(&core, sentBy: .client)
        #expect(sent.map(\.type) == [.message])
        #expect(sent.first?.flags.contains(.endStream) == true)
        #expect(stream.state == .halfClosedLocal)
        #expect(stream.isEnding)
    }

    @Test("a frame that cannot be sent gives the call a status that says what and whose limit", arguments: [ConnectionRole.client, .server])
    func outboundStatus(role: ConnectionRole) {
        let status = OutboundFrameError.tooLarge(size: 2_000, limit: 1_024).status(of: .message, from: role)
        let noun = role == .client ? "request" : "response"
        #expect(status == RPCStatus(code: .resourceExhausted, message: "\(noun) message of 2000 bytes is over the \(role.peer)'s limit of 1024"))
        let headers = OutboundFrameError.tooLarge(size: 2_000, limit: 1_024).status(of: .headers, from: role)
        #expect(headers.message == "\(noun) headers of 2000 bytes are over the \(role.peer)'s limit of 1024")
    }

    // MARK: Helpers

    private typealias Core = ConnectionCore<TestStream>

    private func connectedCore(role: ConnectionRole, limits: ProtocolLimits = ProtocolLimits()) -> Core {
        var core = Core(role: role, limits: limits, now: t0)
        core.connected(now: t0)
        _ = core.tlsEstablished()
        _ = core.frames.take()
        return core
    }

    /// A core past its peer's first SETTINGS at `t0`, with its output read.
    private func openCore(
        role: ConnectionRole, limits: ProtocolLimits = ProtocolLimits(), peer: ProtocolLimits = ProtocolLimits()
    ) throws -> Core {
        var core = connectedCore(role: role, limits: limits)
        _ = try core.receiveControl(settingsFrame(peer), now: t0)
        _ = core.frames.take()
        return core
    }

    private func settingsFrame(_ limits: ProtocolLimits) throws -> Frame {
        try Frame(.settings, streamID: .connection, message: limits.settings, using: WireEncoder())
    }

    private func acknowledgement() throws -> Frame {
        try Frame(.settings, flags: .ack, streamID: .connection, message: Settings(ack: true), using: WireEncoder())
    }

    private func pingFrame(_ ping: Ping) throws -> Frame {
        try Frame(.ping, flags: ping.ack ? .ack : [], streamID: .connection, message: ping, using: WireEncoder())
    }

    /// The frames `core` appended since the last call (after the client's preface, which is checked).
    private func frames(_ core: inout Core, sentBy role: ConnectionRole) throws -> [Frame] {
        var bytes = core.frames.take()
        if role == .client, bytes.getBytes(at: bytes.readerIndex, length: ConnectionPreface.count) == ConnectionPreface.bytes {
            bytes.moveReaderIndex(forwardBy: ConnectionPreface.count)
        }
        var frames: [Frame] = []
        while let header = try FrameHeader.peek(in: bytes) {
            bytes.moveReaderIndex(forwardBy: FrameHeader.byteCount)
            let slice = bytes.readSlice(length: Int(header.length))
            let payload = try #require(slice)
            frames.append(Frame(type: header.type, flags: header.flags, streamID: header.streamID, payload: payload))
        }
        #expect(bytes.readableBytes == 0)
        return frames
    }
}

/// A stream of either role, for the core alone.
private final class TestStream: ConnectionStream {
    let id: StreamID
    var state = StreamState.open
    var sendWindow: SendWindow
    var receiveWindow = ReceiveWindow(initial: 1 << 20, largestMessage: 1 << 20)
    var pending = CircularBuffer<PendingFrame>()
    var isBlocked = false
    var deadlineTimer: Scheduled<Void>?

    init(id: UInt32, sendWindow: Int = 1 << 20) {
        self.id = StreamID(rawValue: id)!
        self.sendWindow = SendWindow(initial: sendWindow)
    }
}

/// What a control frame asked for, without the streams it names.
private func kind(_ outcome: ConnectionCore<TestStream>.ControlOutcome) -> String {
    switch outcome {
    case .handled: "handled"
    case .opened: "opened"
    case .settingsChanged: "settingsChanged"
    case .trailersDue(let due): "trailersDue \(due.map(\.0.id.rawValue))"
    case .goAway: "goAway"
    }
}
