import CRMRPC
import CRMTLS
import CRMWire
import NIOCore
import NIOPosix
import Synchronization

/// A hand-driven crm/1 client over real TLS: writes frames (or raw bytes) and records every frame,
/// error and close it sees, for tests of what the server does with bad input.
///
/// What a client must do at once, whatever the test's task is doing, happens on the event loop as
/// a real client does it: the preface and first SETTINGS right after the TLS handshake (the server
/// closes a connection that does not send them within its handshake timeout), and the answer to
/// each keepalive PING (the server closes a connection that does not answer in time). On a loaded
/// machine the test's task may not run for many seconds; the connection must not depend on it.
final class RawConnection: Sendable {
    struct Observation: Sendable {
        var frames: [Frame] = []
        var errors: [String] = []
        var handshake: TLSHandshakeCompleted?
        var closed = false

        var goAway: GoAway? {
            frames.last { $0.type == .goAway }.flatMap { try? $0.decodeControlPayload(as: GoAway.self, using: WireDecoder()) }
        }

        func frames(on stream: StreamID) -> [Frame] { frames.filter { $0.streamID == stream } }
    }

    let channel: any Channel
    private let box: Box
    private let writer: NIOLoopBound<RawWriter>

    private init(channel: any Channel, box: Box, writer: NIOLoopBound<RawWriter>) {
        self.channel = channel
        self.box = box
        self.writer = writer
    }

    var snapshot: Observation { box.state.withLock { $0 } }

    /// Connects with TLS (ALPN crm/1). With `start`, the preface and an empty SETTINGS go out as
    /// soon as the handshake completes, and this returns once the server's SETTINGS have arrived;
    /// without, nothing is sent. With `answerPings` (the default) the server's PINGs are
    /// acknowledged at once, as every client must; without, they are only recorded.
    static func connect(
        port: Int, context: TLSContext, start: Bool = true, answerPings: Bool = true, receiveBufferSize: Int? = nil,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> RawConnection {
        let box = Box()
        var opening: ByteBuffer?
        if start {
            var bytes = ByteBuffer(bytes: ConnectionPreface.bytes)
            Frame(type: FrameType.settings, flags: [], streamID: StreamID.connection, payload: ByteBuffer()).write(to: &bytes)
            opening = bytes
        }
        let preface = opening
        // Kept from the start: by the time this task runs again the server may have closed the
        // connection (and the pipeline let go of its handlers).
        let writerBox = Mutex<NIOLoopBound<RawWriter>?>(nil)
        var bootstrap = ClientBootstrap(group: group)
        if let receiveBufferSize {
            // Set before connecting, so the window the kernel advertises stays this small.
            bootstrap = bootstrap.channelOption(.socketOption(.so_rcvbuf), value: SocketOptionValue(receiveBufferSize))
        }
        let channel = try await bootstrap
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    let writer = RawWriter(prefaceAfterHandshake: preface)
                    try pipeline.addHandler(TLSHandler(context: context, serverName: "localhost"))
                    try pipeline.addHandler(writer)
                    try pipeline.addHandler(ByteToMessageHandler(FrameDecoder(role: .client)))
                    try pipeline.addHandler(MessageToByteHandler(FrameEncoder()))
                    try pipeline.addHandler(FrameRecorder(box: box, answerPings: answerPings))
                    writerBox.withLock { $0 = NIOLoopBound(writer, eventLoop: channel.eventLoop) }
                }
            }
            .connect(host: "127.0.0.1", port: port)
            .get()
        guard let writer = writerBox.withLock({ $0 }) else { throw TestFailure() }  // set up before connect returns
        let connection = RawConnection(channel: channel, box: box, writer: writer)
        if start {
            try await connection.waitFor("the server's SETTINGS") { $0.frames.contains { $0.type == .settings } }
        }
        return connection
    }

    /// Sends one frame.
    func send(_ frame: Frame) async throws {
        try await channel.writeAndFlush(frame)
    }

    /// Sends frames in one write, so that the server reads them together (a deadline that starts
    /// with the first cannot pass before the last has arrived).
    func send(_ frames: [Frame]) async throws {
        let channel = self.channel
        try await channel.eventLoop.flatSubmit {
            for frame in frames.dropLast() { channel.write(frame, promise: nil) }
            return frames.last.map { channel.writeAndFlush($0) } ?? channel.eventLoop.makeSucceededVoidFuture()
        }.get()
    }

    /// Counts frames handed to the kernel by `sendWithoutWaiting`.
    final class WriteCounter: Sendable {
        private let count = Atomic<Int>(0)
        var written: Int { count.load(ordering: .relaxed) }
        fileprivate func add() { count.add(1, ordering: .relaxed) }
    }

    /// Queues frames and flushes them without waiting for them to reach the socket: for a peer that stops reading,
    /// whose writes would never complete. `counter` counts each frame once it has been written to the socket.
    func sendWithoutWaiting(_ frames: [Frame], counter: WriteCounter) {
        let channel = self.channel
        channel.eventLoop.execute {
            for frame in frames {
                let promise = channel.eventLoop.makePromise(of: Void.self)
                promise.futureResult.whenSuccess { counter.add() }
                channel.write(frame, promise: promise)
            }
            channel.flush()
        }
    }

    /// Stops (or resumes) reading from the socket, as a client that does not read its answers.
    func setReading(_ reading: Bool) async throws {
        try await channel.setOption(.autoRead, value: reading).get()
        if reading { channel.read() }
    }

    /// Sends a control or request frame whose payload is `message`.
    func send<M: WireMessage>(_ type: FrameType, flags: FrameFlags = [], stream: StreamID, _ message: M) async throws {
        try await send(Frame(type, flags: flags, streamID: stream, message: message, using: WireEncoder()))
    }

    /// Opens `stream` on `method`.
    func sendHeaders(stream: StreamID, method: String, timeoutMs: Int64 = 0, endStream: Bool = false) async throws {
        try await send(Self.headers(stream: stream, method: method, timeoutMs: timeoutMs, endStream: endStream))
    }

    /// Sends a MESSAGE with these payload bytes.
    func sendMessage(stream: StreamID, bytes: [UInt8], endStream: Bool = true) async throws {
        try await send(Self.message(stream: stream, bytes: bytes, endStream: endStream))
    }

    /// The HEADERS frame that opens `stream` on `method`.
    static func headers(stream: StreamID, method: String, timeoutMs: Int64 = 0, endStream: Bool = false) throws -> Frame {
        try Frame(
            .headers, flags: endStream ? .endStream : [], streamID: stream,
            message: RequestHeaders(method: method, authority: "localhost", timeoutMs: timeoutMs), using: WireEncoder())
    }

    /// A MESSAGE frame with these payload bytes.
    static func message(stream: StreamID, bytes: [UInt8], endStream: Bool = true) -> Frame {
        Frame(type: .message, flags: endStream ? .endStream : [], streamID: stream, payload: ByteBuffer(bytes: bytes))
    }

    /// Writes bytes into the TLS session as they are, below the frame encoder.
    func sendRaw(_ bytes: ByteBuffer) async throws {
        let writer = self.writer
        let eventLoop = channel.eventLoop
        try await eventLoop.flatSubmit {
            writer.value.write(bytes) ?? eventLoop.makeFailedFuture(ChannelError.ioOnClosedChannel)
        }.get()
    }

    /// Waits until `condition` holds; `limit` is only an upper bound against hangs (see `poll`).
    @discardableResult
    func waitFor(_ what: String, limit: Duration = .seconds(60), _ condition: (Observation) -> Bool) async throws -> Observation {
        try await poll(limit: limit) {
            let current = snapshot
            return condition(current) ? current : nil
        } failure: {
            let current = snapshot
            return "\(what); saw frames \(current.frames) errors \(current.errors) closed \(current.closed)"
        }
    }

    /// Waits for the server's TRAILERS on `stream` and returns their status.
    func trailers(on stream: StreamID) async throws -> RPCStatus {
        let seen = try await waitFor("TRAILERS on stream \(stream)") { observation in
            observation.frames(on: stream).contains { $0.type == .trailers }
        }
        guard let frame = seen.frames(on: stream).first(where: { $0.type == .trailers }) else { return .ok }
        return RPCStatus(try frame.decodeControlPayload(as: Trailers.self, using: WireDecoder()))
    }

    /// Waits for the connection to close; returns the GOAWAY's status it got before, if any.
    func closedWithGoAway() async throws -> RPCStatus? {
        let seen = try await waitFor("the connection to close") { $0.closed }
        return seen.goAway.map(RPCStatus.init)
    }

    func close() async {
        try? await channel.close()
    }

    final class Box: Sendable {
        let state = Mutex(Observation())
    }
}

/// Lets a test write bytes under the frame encoder, and sends the preface (if given) as soon as
/// the TLS handshake completes.
final class RawWriter: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    private var context: ChannelHandlerContext?
    private var preface: ByteBuffer?

    init(prefaceAfterHandshake preface: ByteBuffer?) { self.preface = preface }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is TLSHandshakeCompleted, let preface {
            self.preface = nil
            context.writeAndFlush(wrapOutboundOut(preface), promise: nil)
        }
        context.fireUserInboundEventTriggered(event)
    }

    /// Writes `bytes`; nil when the handler has left the pipeline (the connection is closed).
    func write(_ bytes: ByteBuffer) -> EventLoopFuture<Void>? {
        guard let context else { return nil }
        let promise = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(bytes), promise: promise)
        return promise.futureResult
    }
}

/// Records what a raw connection receives, and acknowledges PINGs when asked to.
final class FrameRecorder: ChannelInboundHandler {
    typealias InboundIn = Frame
    typealias OutboundOut = Frame
    private let box: RawConnection.Box
    private let answerPings: Bool

    init(box: RawConnection.Box, answerPings: Bool) {
        self.box = box
        self.answerPings = answerPings
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        box.state.withLock { $0.frames.append(frame) }
        if answerPings, frame.type == .ping, let ping = try? frame.decodePing(using: WireDecoder()), !ping.ack,
            let ack = try? Frame(
                .ping, flags: .ack, streamID: .connection, message: Ping(opaqueData: ping.opaqueData, ack: true),
                using: WireEncoder())
        {
            context.writeAndFlush(wrapOutboundOut(ack), promise: nil)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let handshake = event as? TLSHandshakeCompleted {
            box.state.withLock { $0.handshake = handshake }
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        box.state.withLock { $0.errors.append(String(describing: error)) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        box.state.withLock { $0.closed = true }
        context.fireChannelInactive()
    }
}
