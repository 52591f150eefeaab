import CRMWire
import NIOCore
import NIOEmbedded
import Testing

@Suite("FrameDecoder: partial input, limits, bad headers and truncation")
struct FrameDecoderTests {
    let encoder = WireEncoder()

    /// A client's opening and a few frames, as one byte string.
    func clientBytes() throws -> (bytes: [UInt8], frames: [Frame]) {
        var payload = ByteBuffer()
        try payload.writeWireMessage(HealthCheckRequest(service: "crm.v1.Health"), using: encoder)
        let frames: [Frame] = [
            try .settings(.default, using: encoder),
            try .requestHeaders(RequestHeaders(method: "/crm.v1.Health/Check", timeoutMs: 100), streamID: 1, using: encoder),
            .message(payload, streamID: 1, endStream: true),
            .endOfRequests(streamID: 3),
            try .ping(opaqueData: 1, using: encoder),
        ]
        return (ConnectionPreface.bytes + frames.flatMap(\.wireBytes), frames)
    }

    // MARK: partial input

    @Test("bytes arriving one at a time give the same frames, each as soon as its last byte is in")
    func byteByByte() throws {
        let (bytes, frames) = try clientBytes()
        var frameEnds: [Int] = []
        var end = ConnectionPreface.count
        for frame in frames {
            end += frame.wireBytes.count
            frameEnds.append(end)
        }

        let server = try DecodingChannel(role: .server)
        var decoded: [Frame] = []
        for (index, byte) in bytes.enumerated() {
            try server.feed([byte])
            let new = try server.frames()
            if frameEnds.contains(index + 1) {
                #expect(new.count == 1, "frame ending at byte \(index + 1) not delivered at once")
            } else {
                #expect(new.isEmpty, "a frame delivered at byte \(index + 1), before its last byte")
            }
            decoded += new
        }
        #expect(decoded == frames)
        #expect(try server.finish().isEmpty)
    }

    @Test("any split into two reads gives the same frames")
    func everySplit() throws {
        let (bytes, frames) = try clientBytes()
        for split in 0...bytes.count {
            let server = try DecodingChannel(role: .server)
            try server.feed(Array(bytes[..<split]))
            try server.feed(Array(bytes[split...]))
            #expect(try server.frames() == frames, "split at \(split)")
        }
    }

    @Test("the pure parser consumes the header at once and waits for the whole payload")
    func parserWaitsForPayload() throws {
        var parser = FrameParser(role: .client)
        var buffer = ByteBuffer(bytes: header(length: 0, type: 5, streamID: 0))
        #expect(try parser.nextFrame(from: &buffer)?.type == .settings)
        buffer.writeBytes(header(length: 4, type: 2, streamID: 1) + [1, 2])
        #expect(try parser.nextFrame(from: &buffer) == nil)
        #expect(!parser.isAtFrameBoundary)
        #expect(buffer.readableBytes == 2, "the header is consumed, the partial payload left in place")
        buffer.writeBytes([3, 4])
        let frame = try #require(try parser.nextFrame(from: &buffer))
        #expect(Array(frame.payload.readableBytesView) == [1, 2, 3, 4])
        #expect(parser.isAtFrameBoundary)
    }

    // MARK: limits

    @Test("a MESSAGE longer than the limit is rejected on its header alone: the body is never waited for")
    func overLimitMessageRejectedBeforeBody() throws {
        let server = try DecodingChannel(role: .server)
        try server.feed(clientOpening())
        #expect(try server.frames().count == 1)

        let tooLong = UInt32(4 << 20) + 1
        #expect(throws: FrameError.frameTooLarge(type: .message, length: tooLong, limit: 4 << 20)) {
            try server.feed(header(length: tooLong, type: 2, streamID: 1))
        }
        // What follows is dropped, not appended to a buffer waiting for 4 MiB.
        #expect {
            try server.feed([UInt8](repeating: 0xAB, count: 64 << 10))
        } throws: { error in
            guard case .dataReceivedInErrorState(let cause, _) = error as? ByteToMessageDecoderError else { return false }
            return cause as? FrameError == .frameTooLarge(type: .message, length: tooLong, limit: 4 << 20)
        }
        #expect(try server.frames().isEmpty)
    }

    @Test("the parser rejects an over-long frame without consuming more than the header's bytes")
    func parserRejectsWithoutBuffering() throws {
        var parser = FrameParser(role: .client, limits: ProtocolLimits(maxMessageSize: 1_024))
        var buffer = ByteBuffer(bytes: header(length: 0, type: 5, streamID: 0))
        _ = try parser.nextFrame(from: &buffer)
        buffer.writeBytes(header(length: 1_025, type: 2, streamID: 1))
        let error = FrameError.frameTooLarge(type: .message, length: 1_025, limit: 1_024)
        #expect(throws: error) { try parser.nextFrame(from: &buffer) }
        #expect(buffer.readableBytes == FrameHeader.byteCount)
        // It stays failed, whatever comes next.
        buffer.writeBytes(header(length: 0, type: 6, streamID: 0))
        #expect(throws: error) { try parser.nextFrame(from: &buffer) }
    }

    @Test("a MESSAGE exactly at the limit is accepted")
    func messageAtLimitAccepted() throws {
        let limits = ProtocolLimits(maxMessageSize: 2_000)
        let server = try DecodingChannel(role: .server, limits: limits)
        try server.feed(clientOpening() + header(length: 2_000, type: 2, streamID: 1) + [UInt8](repeating: 0, count: 1_999))
        #expect(try server.frames().count == 1)
        try server.feed([0])
        #expect(try server.frames().first?.payload.readableBytes == 2_000)
    }

    @Test("frames other than MESSAGE are held to MAX_HEADER_SIZE", arguments: [UInt8(1), 4, 6, 7, 8])
    func headerSizeLimit(rawType: UInt8) throws {
        let type = try #require(FrameType(rawValue: rawType))
        let streamID: UInt32 = type.streamScope == .connection ? 0 : 1
        let server = try DecodingChannel(role: .server)
        try server.feed(clientOpening() + header(length: 16_384, type: rawType, streamID: streamID))
        let tooLong = FrameError.frameTooLarge(type: type, length: 16_385, limit: 16_384)
        let again = try DecodingChannel(role: .server)
        #expect(throws: tooLong) {
            try again.feed(clientOpening() + header(length: 16_385, type: rawType, streamID: streamID))
        }
    }

    @Test("MAX_FRAME_SIZE caps every type, MESSAGE included")
    func frameSizeCapsAll() throws {
        let limits = ProtocolLimits(maxFrameSize: 16_384, maxMessageSize: 1 << 20, maxHeaderSize: 1 << 20)
        #expect(limits.maxPayloadSize(of: .message) == 16_384)
        #expect(limits.maxPayloadSize(of: .headers) == 16_384)
        let server = try DecodingChannel(role: .server, limits: limits)
        try server.feed(clientOpening())
        #expect(throws: FrameError.frameTooLarge(type: .message, length: 16_385, limit: 16_384)) {
            try server.feed(header(length: 16_385, type: 2, streamID: 1))
        }
    }

    @Test("the first SETTINGS is held to the defaults' MAX_HEADER_SIZE like any other")
    func firstSettingsLimit() throws {
        let client = try DecodingChannel(role: .client)
        #expect(throws: FrameError.frameTooLarge(type: .settings, length: 1 << 20, limit: 16_384)) {
            try client.feed(header(length: 1 << 20, type: 5, streamID: 0))
        }
    }

    // MARK: bad headers

    @Test("a stream id with the reserved bit set is rejected")
    func reservedBit() throws {
        let server = try DecodingChannel(role: .server)
        try server.feed(clientOpening())
        #expect(throws: FrameError.reservedBitSet(type: .headers, rawStreamID: 0x8000_0001)) {
            try server.feed(header(length: 0, type: 1, streamID: 0x8000_0001))
        }
        let client = try DecodingChannel(role: .client)
        #expect(throws: FrameError.reservedBitSet(type: .settings, rawStreamID: 0x8000_0000)) {
            try client.feed(header(length: 0, type: 5, streamID: 0x8000_0000))
        }
    }

    @Test("an unknown frame type is rejected", arguments: [UInt8(0), 9, 0x7F, 0xFF])
    func unknownType(rawType: UInt8) throws {
        let server = try DecodingChannel(role: .server)
        try server.feed(clientOpening())
        #expect(throws: FrameError.unknownFrameType(rawType: rawType, rawStreamID: 1)) {
            try server.feed(header(length: 3, type: rawType, streamID: 1))
        }
        // Even as the very first frame, and even with a huge length: the type is checked first.
        let client = try DecodingChannel(role: .client)
        #expect(throws: FrameError.unknownFrameType(rawType: rawType, rawStreamID: 0)) {
            try client.feed(header(length: .max, type: rawType, streamID: 0))
        }
    }

    @Test("connection frames belong on stream 0, stream frames elsewhere, and stream ids are odd")
    func streamIDRules() throws {
        func rejected(_ bytes: [UInt8], role: ConnectionRole = .server) throws -> FrameError? {
            let channel = try DecodingChannel(role: role)
            let opening = role == .server ? clientOpening() : header(length: 0, type: 5, streamID: 0)
            do {
                try channel.feed(opening + bytes)
                return nil
            } catch let error as FrameError {
                return error
            }
        }
        #expect(try rejected(header(length: 0, type: 5, streamID: 1)) == .connectionFrameOnStream(type: .settings, streamID: 1))
        #expect(try rejected(header(length: 0, type: 6, streamID: 3)) == .connectionFrameOnStream(type: .ping, streamID: 3))
        #expect(try rejected(header(length: 0, type: 7, streamID: 5)) == .connectionFrameOnStream(type: .goAway, streamID: 5))
        #expect(try rejected(header(length: 0, type: 1, streamID: 0)) == .streamIDRequired(type: .headers))
        #expect(try rejected(header(length: 0, type: 2, streamID: 0)) == .streamIDRequired(type: .message))
        #expect(try rejected(header(length: 0, type: 4, streamID: 0)) == .streamIDRequired(type: .rstStream))
        #expect(try rejected(header(length: 0, type: 3, streamID: 0), role: .client) == .streamIDRequired(type: .trailers))
        #expect(try rejected(header(length: 0, type: 2, streamID: 2)) == .evenStreamID(type: .message, streamID: 2))
        #expect(try rejected(header(length: 0, type: 1, streamID: 4), role: .client) == .evenStreamID(type: .headers, streamID: 4))
        #expect(try rejected(header(length: 0, type: 8, streamID: 6)) == .evenStreamID(type: .windowUpdate, streamID: 6))
        #expect(try rejected(header(length: 0, type: 8, streamID: 0)) == nil)
        #expect(try rejected(header(length: 0, type: 8, streamID: 9)) == nil)
        #expect(try rejected(header(length: 0, type: 3, streamID: 1)) == .notAllowed(type: .trailers, from: .client))
        #expect(try rejected(header(length: 0, type: 3, streamID: 1), role: .client) == nil)
    }

    @Test("the first frame must be a SETTINGS without ACK")
    func firstFrameSettings() throws {
        let server = try DecodingChannel(role: .server)
        #expect(throws: FrameError.firstFrameNotSettings(type: .headers, flags: [])) {
            try server.feed(ConnectionPreface.bytes + header(length: 0, type: 1, streamID: 1))
        }
        let client = try DecodingChannel(role: .client)
        #expect(throws: FrameError.firstFrameNotSettings(type: .settings, flags: .ack)) {
            try client.feed(header(length: 0, type: 5, flags: 1, streamID: 0))
        }
        // After the first, a SETTINGS ACK is an ordinary frame.
        let later = try DecodingChannel(role: .client)
        try later.feed(header(length: 0, type: 5, streamID: 0) + header(length: 0, type: 5, flags: 1, streamID: 0))
        #expect(try later.frames().map(\.flags) == [[], .ack])
    }

    @Test("a server rejects a client that does not start with the preface, at its first wrong byte")
    func badPreface() throws {
        let server = try DecodingChannel(role: .server)
        #expect(throws: FrameError.badPreface(received: Array("G".utf8))) {
            try server.feed(Array("G".utf8))
        }
        let http = try DecodingChannel(role: .server)
        #expect(throws: FrameError.badPreface(received: Array("GET / HT".utf8))) {
            try http.feed(Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        }
        // Right up to the last byte: "CRM/1\r\n" then a byte other than NUL.
        let almost = try DecodingChannel(role: .server)
        try almost.feed(Array(ConnectionPreface.bytes.prefix(7)))
        #expect(throws: FrameError.badPreface(received: Array("CRM/1\r\n\n".utf8))) {
            try almost.feed(Array("\n".utf8))
        }
        // A frame where the preface belongs is not a preface either.
        let noPreface = try DecodingChannel(role: .server)
        #expect(throws: FrameError.badPreface(received: header(length: 0, type: 5, streamID: 0).prefix(8).map { $0 })) {
            try noPreface.feed(header(length: 0, type: 5, streamID: 0))
        }
    }

    @Test("the preface may arrive in pieces")
    func prefaceInPieces() throws {
        let server = try DecodingChannel(role: .server)
        for byte in ConnectionPreface.bytes { try server.feed([byte]) }
        try server.feed(header(length: 0, type: 5, streamID: 0))
        #expect(try server.frames().map(\.type) == [.settings])
    }

    // MARK: end of input

    @Test("a frame cut short by EOF is reported with the bytes left over")
    func truncatedPayload() throws {
        let server = try DecodingChannel(role: .server)
        try server.feed(clientOpening() + header(length: 15, type: 2, flags: 1, streamID: 1) + [1, 2, 3, 4, 5])
        #expect(try server.frames().count == 1)
        let cut = FrameHeader(length: 15, type: .message, flags: .endStream, streamID: 1)
        #expect(throws: FrameError.truncated(.payload(cut), expected: 15, received: 5)) {
            _ = try server.finish()
        }
    }

    @Test("a header cut short by EOF is reported")
    func truncatedHeader() throws {
        let server = try DecodingChannel(role: .server)
        try server.feed(clientOpening() + [0, 0, 0, 2])
        #expect(throws: FrameError.truncated(.header, expected: 10, received: 4)) {
            _ = try server.finish()
        }
    }

    @Test("a preface cut short by EOF is reported")
    func truncatedPreface() throws {
        let server = try DecodingChannel(role: .server)
        try server.feed(Array(ConnectionPreface.bytes.prefix(3)))
        #expect(throws: FrameError.truncated(.preface, expected: 8, received: 3)) {
            _ = try server.finish()
        }
    }

    @Test("complete frames that arrived just before EOF are still delivered; EOF at a boundary is clean")
    func cleanEOF() throws {
        let (bytes, frames) = try clientBytes()
        let server = try DecodingChannel(role: .server)
        try server.feed(bytes)
        #expect(try server.finish().isEmpty == false)  // the frames are still unread
        #expect(try server.frames() == frames)

        let silent = try DecodingChannel(role: .server)
        #expect(try silent.finish().isEmpty)
    }

    // MARK: control payloads

    @Test("control payloads that break the rules are connection errors")
    func badControlPayloads() throws {
        let decoder = WireDecoder()
        let garbage = Frame(type: .settings, streamID: .connection, payload: ByteBuffer(bytes: [0xFF, 0xFF]))
        #expect {
            try garbage.decodeSettings(using: decoder)
        } throws: { error in
            guard case .invalidPayload(.settings, let cause) = error as? FrameError else { return false }
            return cause.messageName == "crm.v1.Settings"
        }

        let ackFlagOnly = Frame(type: .settings, flags: .ack, streamID: .connection, payload: ByteBuffer())
        #expect(throws: FrameError.ackMismatch(type: .settings, flag: true, field: false)) {
            try ackFlagOnly.decodeSettings(using: decoder)
        }

        let ackWithEntries = try Frame(
            .settings, flags: .ack, streamID: .connection,
            message: Settings(entries: [SettingEntry(key: .maxConcurrentStreams, value: 1)], ack: true), using: encoder)
        #expect(throws: FrameError.settingsAckWithEntries(count: 1)) { try ackWithEntries.decodeSettings(using: decoder) }

        let pingFieldOnly = try Frame(.ping, streamID: .connection, message: Ping(opaqueData: 1, ack: true), using: encoder)
        #expect(throws: FrameError.ackMismatch(type: .ping, flag: false, field: true)) {
            try pingFieldOnly.decodePing(using: decoder)
        }

        let zero = try Frame.windowUpdate(streamID: 5, increment: 0, using: encoder)
        #expect(throws: FrameError.zeroWindowIncrement(streamID: 5)) { try zero.decodeWindowUpdate(using: decoder) }

        let badUTF8 = Frame(type: .headers, streamID: 1, payload: ByteBuffer(bytes: [0x0A, 0x02, 0xC3, 0x28]))
        #expect {
            try badUTF8.decodeControlPayload(as: RequestHeaders.self, using: decoder)
        } throws: { error in
            guard case .invalidPayload(.headers, let cause) = error as? FrameError else { return false }
            return cause.reason == .invalidUTF8 && cause.fieldPath == "method"
        }
    }

    // MARK: errors say what to do

    @Test("each error maps to its GOAWAY status: code and token")
    func errorStatus() {
        let tooLarge = FrameError.frameTooLarge(type: .message, length: 5_000_000, limit: 4 << 20)
        #expect(tooLarge.kind == .frameSizeError)
        #expect(tooLarge.status.code == .resourceExhausted)
        #expect(tooLarge.status.message.hasPrefix("FRAME_SIZE_ERROR: a MESSAGE frame of 5000000 bytes"))

        let preface = FrameError.badPreface(received: Array("GET / HT".utf8))
        #expect(preface.status.code == .internal)
        #expect(preface.status.message.hasPrefix("PROTOCOL_ERROR: "))
        #expect(preface.description.contains("47 45 54 20 2F 20 48 54"))

        #expect(FrameError.invalidSettings("x").status == RPCStatus(code: .internal, message: "SETTINGS_ERROR: x"))
        #expect(FrameError.unknownFrameType(rawType: 9, rawStreamID: 1).status.code == .internal)
        #expect(FrameError.truncated(.header, expected: 10, received: 4).description
            == "PROTOCOL_ERROR: the connection closed after 4 of the 10 bytes of a frame header; "
            + "the peer must finish a frame before closing")
        for kind in ConnectionErrorKind.allCases {
            #expect(kind.status("d").message == "\(kind.rawValue): d")
        }
    }
}
