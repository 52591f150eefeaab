import CRMWire
import NIOCore
import NIOEmbedded
import Testing

@Suite("Frames round-trip through FrameEncoder and FrameDecoder")
struct FrameRoundTripTests {
    let encoder = WireEncoder()
    let decoder = WireDecoder()

    /// Every frame type, with every flag it defines, as a client sends them.
    func clientFrames() throws -> [Frame] {
        var request = ByteBuffer()
        try request.writeWireMessage(HealthCheckRequest(service: "crm.v1.Health"), using: encoder)
        let headers = RequestHeaders(
            method: "/crm.v1.Health/Watch", authority: "crm.example:7443", timeoutMs: 250, idempotent: true,
            metadata: [
                MetadataEntry(key: "authorization", value: .text("Bearer abc")),
                MetadataEntry(key: "trace-bin", value: .binary([0, 1, 2, 255])),
            ])
        return [
            try .settings(ProtocolLimits(maxConcurrentStreams: 7, idleTimeout: .seconds(9)), using: encoder),
            try .settingsAck(using: encoder),
            try .ping(opaqueData: 0xDEAD_BEEF_0000_0001, using: encoder),
            try .ping(opaqueData: 42, ack: true, using: encoder),
            try .requestHeaders(headers, streamID: 1, using: encoder),
            .message(request, streamID: 1),
            .message(ByteBuffer(), streamID: 1),  // an empty message (all fields default)
            .endOfRequests(streamID: 1),
            try .requestHeaders(RequestHeaders(method: "/a.B/C"), streamID: 3, endStream: true, using: encoder),
            .message(request, streamID: 5, endStream: true),
            try .rstStream(streamID: 5, status: RPCStatus(code: .cancelled, message: "user hung up"), using: encoder),
            try .windowUpdate(streamID: .connection, increment: 1 << 20, using: encoder),
            try .windowUpdate(streamID: 7, increment: 1, using: encoder),
            try .goAway(lastStreamID: .connection, status: .ok, using: encoder),
        ]
    }

    /// Every frame type a server sends.
    func serverFrames() throws -> [Frame] {
        var response = ByteBuffer()
        try response.writeWireMessage(HealthCheckResponse(servingStatus: .notServing), using: encoder)
        let trailers = RPCStatus(code: .notFound, message: "no such service").trailers(metadata: [
            MetadataEntry(key: "retry-after", value: .text("5"))
        ])
        return [
            try .settings(.default, using: encoder),
            try .settingsAck(using: encoder),
            try .responseHeaders(ResponseHeaders(metadata: [MetadataEntry(key: "x", value: .text("y"))]), streamID: 1, using: encoder),
            .message(response, streamID: 1),
            .message(ByteBuffer(), streamID: 1),
            try .trailers(trailers, streamID: 1, using: encoder),
            try .rstStream(streamID: 3, status: RPCStatus(code: .resourceExhausted), using: encoder),
            try .windowUpdate(streamID: 1, increment: UInt32(Int32.max), using: encoder),
            try .ping(opaqueData: 7, using: encoder),
            try .goAway(lastStreamID: 2_147_483_647, status: RPCStatus(code: .unavailable, message: "draining"), using: encoder),
        ]
    }

    @Test("a client's frames of every type arrive at a server unchanged")
    func clientToServer() throws {
        let frames = try clientFrames()
        #expect(Set(frames.map(\.type)) == Set(FrameType.allCases).subtracting([.trailers]))
        var wire = ByteBuffer(bytes: ConnectionPreface.bytes)
        var encoded = try encodeThroughChannel(frames)
        wire.writeBuffer(&encoded)

        let server = try DecodingChannel(role: .server)
        try server.feed(wire)
        #expect(try server.frames() == frames)
        #expect(try server.finish().isEmpty)
    }

    @Test("a server's frames of every type arrive at a client unchanged")
    func serverToClient() throws {
        let frames = try serverFrames()
        #expect(Set(frames.map(\.type)) == Set(FrameType.allCases))
        let client = try DecodingChannel(role: .client)
        try client.feed(try encodeThroughChannel(frames))
        #expect(try client.frames() == frames)
        #expect(try client.finish().isEmpty)
    }

    @Test("control payloads decode back to the messages that were sent")
    func controlPayloads() throws {
        let limits = ProtocolLimits(maxConcurrentStreams: 3, keepaliveInterval: .zero)
        let settings = try Frame.settings(limits, using: encoder).decodeSettings(using: decoder)
        #expect(settings == limits.settings)
        #expect(try ProtocolLimits.default.applying(settings, isFirst: true) == limits)

        let ack = try Frame.settingsAck(using: encoder)
        #expect(ack.flags == .ack)
        #expect(try ack.decodeSettings(using: decoder) == Settings(ack: true))

        let ping = try Frame.ping(opaqueData: .max, ack: true, using: encoder)
        #expect(ping.flags == .ack)
        #expect(try ping.decodePing(using: decoder) == Ping(opaqueData: .max, ack: true))

        let goAway = try Frame.goAway(
            lastStreamID: 41, status: RPCStatus(code: .unavailable, message: "restart"), using: encoder)
        let goAwayMessage = try goAway.decodeControlPayload(as: GoAway.self, using: decoder)
        #expect(goAwayMessage == GoAway(lastStreamID: 41, statusCode: .unavailable, message: "restart"))
        #expect(RPCStatus(goAwayMessage) == RPCStatus(code: .unavailable, message: "restart"))

        let update = try Frame.windowUpdate(streamID: 9, increment: 65_536, using: encoder)
        #expect(try update.decodeWindowUpdate(using: decoder).incrementBytes == 65_536)

        let status = RPCStatus(code: .deadlineExceeded, message: "deadline of 250 ms exceeded")
        let reset = try Frame.rstStream(streamID: 9, status: status, using: encoder)
        #expect(RPCStatus(try reset.decodeControlPayload(as: StreamReset.self, using: decoder)) == status)

        let metadata = [MetadataEntry(key: "k-bin", value: .binary([0xFF, 0]))]
        let trailers = try Frame.trailers(status.trailers(metadata: metadata), streamID: 9, using: encoder)
        let trailersMessage = try trailers.decodeControlPayload(as: Trailers.self, using: decoder)
        #expect(RPCStatus(trailersMessage) == status)
        #expect(trailersMessage.metadata == metadata)

        let request = RequestHeaders(method: "/p.S/M", authority: "h", timeoutMs: -1, idempotent: false, metadata: metadata)
        let headers = try Frame.requestHeaders(request, streamID: 11, endStream: true, using: encoder)
        #expect(headers.flags == .endStream)
        #expect(try headers.decodeControlPayload(as: RequestHeaders.self, using: decoder) == request)
    }

    @Test("a frame written straight from a message equals the frame built first and then written")
    func writeFrameFromMessage() throws {
        let request = RequestHeaders(method: "/crm.v1.Health/Check")
        var direct = ByteBuffer()
        let written = try direct.writeFrame(.headers, flags: .endStream, streamID: 3, message: request, using: encoder)
        let built = try Frame.requestHeaders(request, streamID: 3, endStream: true, using: encoder)
        #expect(Array(direct.readableBytesView) == built.wireBytes)
        #expect(written == direct.readableBytes)
    }

    @Test("a message that cannot be encoded leaves the buffer as it was")
    func writeFrameFailureLeavesBufferUnchanged() throws {
        var buffer = ByteBuffer(bytes: [1, 2, 3])
        #expect(throws: WireEncodingError.self) {
            try buffer.writeFrame(.headers, streamID: 1, message: RequestHeaders(method: "/a\0b"), using: encoder)
        }
        #expect(Array(buffer.readableBytesView) == [1, 2, 3])
    }

    @Test("END_STREAM: a client's empty MESSAGE with it carries no message; a server's flag means nothing")
    func endStreamSemantics() {
        let end = Frame.endOfRequests(streamID: 1)
        #expect(end.endsStream(from: .client))
        #expect(!end.carriesMessage(from: .client))
        #expect(!end.endsStream(from: .server))
        #expect(end.carriesMessage(from: .server))

        let empty = Frame.message(ByteBuffer(), streamID: 1)
        #expect(empty.carriesMessage(from: .client))
        #expect(!empty.endsStream(from: .client))

        let last = Frame.message(ByteBuffer(bytes: [8, 1]), streamID: 1, endStream: true)
        #expect(last.carriesMessage(from: .client))
        #expect(last.endsStream(from: .client))

        #expect(Frame(type: .headers, flags: .endStream, streamID: 1, payload: ByteBuffer()).endsStream(from: .client))
        #expect(!Frame(type: .trailers, flags: .endStream, streamID: 1, payload: ByteBuffer()).endsStream(from: .client))
    }

    @Test("flags a type does not define are kept, and change nothing")
    func unknownFlagsIgnored() throws {
        let server = try DecodingChannel(role: .server)
        try server.feed(clientOpening() + header(length: 0, type: 1, flags: 0xFE, streamID: 1))
        let frames = try server.frames()
        #expect(frames.count == 2)
        #expect(frames[1].flags.rawValue == 0xFE)
        #expect(!frames[1].endsStream(from: .client))
    }

    @Test("a decoded payload is a slice of the received bytes, not a copy")
    func payloadIsSlice() throws {
        var parser = FrameParser(role: .client)
        var bytes = ByteBuffer(bytes: header(length: 0, type: 5, streamID: 0) + header(length: 3, type: 2, streamID: 1) + [7, 8, 9])
        let received = bytes.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
        let settings = try #require(try parser.nextFrame(from: &bytes))
        #expect(settings.type == .settings)
        let message = try #require(try parser.nextFrame(from: &bytes))
        #expect(Array(message.payload.readableBytesView) == [7, 8, 9])
        let payload = message.payload.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
        #expect(payload == received + 2 * UInt(FrameHeader.byteCount), "the payload points into the received bytes")
    }
}

extension EmbeddedChannel.LeftOverState {
    var isEmpty: Bool {
        if case .clean = self { return true }
        return false
    }
}
