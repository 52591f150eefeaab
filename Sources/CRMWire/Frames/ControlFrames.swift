public import NIOCore

// Builders and readers for the frames whose payload is one of the protocol's own control
// messages (Protos/crm/v1/rpc.proto), keeping flags and payload in agreement.

extension Frame {
    /// A SETTINGS frame announcing `limits` (every kind, explicitly).
    public static func settings(
        _ limits: ProtocolLimits, using encoder: WireEncoder, allocator: ByteBufferAllocator = ByteBufferAllocator()
    ) throws(WireEncodingError) -> Frame {
        try Frame(.settings, streamID: .connection, message: limits.settings, using: encoder, allocator: allocator)
    }

    /// A SETTINGS frame with `settings`; the ACK flag follows `settings.ack`.
    public static func settings(
        _ settings: Settings, using encoder: WireEncoder, allocator: ByteBufferAllocator = ByteBufferAllocator()
    ) throws(WireEncodingError) -> Frame {
        try Frame(
            .settings, flags: settings.ack ? .ack : [], streamID: .connection, message: settings,
            using: encoder, allocator: allocator)
    }

    /// The acknowledgement of the peer's SETTINGS: ACK flag and `ack = true`, no entries.
    public static func settingsAck(
        using encoder: WireEncoder, allocator: ByteBufferAllocator = ByteBufferAllocator()
    ) throws(WireEncodingError) -> Frame {
        try settings(Settings(ack: true), using: encoder, allocator: allocator)
    }

    /// A PING, or with `ack` its echo; the ACK flag follows `ack`.
    public static func ping(
        opaqueData: UInt64, ack: Bool = false, using encoder: WireEncoder,
        allocator: ByteBufferAllocator = ByteBufferAllocator()
    ) throws(WireEncodingError) -> Frame {
        try Frame(
            .ping, flags: ack ? .ack : [], streamID: .connection, message: Ping(opaqueData: opaqueData, ack: ack),
            using: encoder, allocator: allocator)
    }

    /// A GOAWAY: no streams above `lastStreamID` were or will be processed.
    public static func goAway(
        lastStreamID: StreamID, status: RPCStatus, using encoder: WireEncoder,
        allocator: ByteBufferAllocator = ByteBufferAllocator()
    ) throws(WireEncodingError) -> Frame {
        try Frame(
            .goAway, streamID: .connection, message: status.goAway(lastStreamID: lastStreamID), using: encoder,
            allocator: allocator)
    }

    /// A WINDOW_UPDATE granting `increment` more bytes on `streamID` (0: the connection).
    public static func windowUpdate(
        streamID: StreamID, increment: UInt32, using encoder: WireEncoder,
        allocator: ByteBufferAllocator = ByteBufferAllocator()
    ) throws(WireEncodingError) -> Frame {
        try Frame(
            .windowUpdate, streamID: streamID, message: WindowUpdate(incrementBytes: increment), using: encoder,
            allocator: allocator)
    }

    /// A RST_STREAM ending `streamID` with `status`.
    public static func rstStream(
        streamID: StreamID, status: RPCStatus, using encoder: WireEncoder,
        allocator: ByteBufferAllocator = ByteBufferAllocator()
    ) throws(WireEncodingError) -> Frame {
        try Frame(.rstStream, streamID: streamID, message: status.streamReset, using: encoder, allocator: allocator)
    }

    /// A client's HEADERS opening `streamID`; `endStream` when no request message follows.
    public static func requestHeaders(
        _ headers: RequestHeaders, streamID: StreamID, endStream: Bool = false, using encoder: WireEncoder,
        allocator: ByteBufferAllocator = ByteBufferAllocator()
    ) throws(WireEncodingError) -> Frame {
        try Frame(
            .headers, flags: endStream ? .endStream : [], streamID: streamID, message: headers, using: encoder,
            allocator: allocator)
    }

    /// A server's HEADERS starting its answer on `streamID`.
    public static func responseHeaders(
        _ headers: ResponseHeaders, streamID: StreamID, using encoder: WireEncoder,
        allocator: ByteBufferAllocator = ByteBufferAllocator()
    ) throws(WireEncodingError) -> Frame {
        try Frame(.headers, streamID: streamID, message: headers, using: encoder, allocator: allocator)
    }

    /// A server's TRAILERS ending `streamID`.
    public static func trailers(
        _ trailers: Trailers, streamID: StreamID, using encoder: WireEncoder,
        allocator: ByteBufferAllocator = ByteBufferAllocator()
    ) throws(WireEncodingError) -> Frame {
        try Frame(.trailers, streamID: streamID, message: trailers, using: encoder, allocator: allocator)
    }

    /// A MESSAGE carrying one already encoded message; `endStream` (client only) when it is
    /// the client's last.
    public static func message(_ payload: ByteBuffer, streamID: StreamID, endStream: Bool = false) -> Frame {
        Frame(type: .message, flags: endStream ? .endStream : [], streamID: streamID, payload: payload)
    }

    /// A client's empty MESSAGE with END_STREAM: no message, only the half-close.
    public static func endOfRequests(streamID: StreamID) -> Frame {
        Frame(type: .message, flags: .endStream, streamID: streamID, payload: ByteBuffer())
    }

    /// The payload of a SETTINGS frame, checked: the ACK flag and the `ack` field agree,
    /// and an acknowledgement carries no entries.
    public func decodeSettings(using decoder: WireDecoder) throws(FrameError) -> Settings {
        let settings = try decodeControlPayload(as: Settings.self, using: decoder)
        let flag = flags.contains(.ack)
        guard flag == settings.ack else { throw .ackMismatch(type: type, flag: flag, field: settings.ack) }
        if settings.ack, !settings.entries.isEmpty { throw .settingsAckWithEntries(count: settings.entries.count) }
        return settings
    }

    /// The payload of a PING frame, checked: the ACK flag and the `ack` field agree.
    public func decodePing(using decoder: WireDecoder) throws(FrameError) -> Ping {
        let ping = try decodeControlPayload(as: Ping.self, using: decoder)
        let flag = flags.contains(.ack)
        guard flag == ping.ack else { throw .ackMismatch(type: type, flag: flag, field: ping.ack) }
        return ping
    }

    /// The payload of a WINDOW_UPDATE frame, checked: the increment is above 0.
    public func decodeWindowUpdate(using decoder: WireDecoder) throws(FrameError) -> WindowUpdate {
        let update = try decodeControlPayload(as: WindowUpdate.self, using: decoder)
        guard update.incrementBytes > 0 else { throw .zeroWindowIncrement(streamID: streamID) }
        return update
    }
}
