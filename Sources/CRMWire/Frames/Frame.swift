public import NIOCore

/// One frame: its header's type, flags and stream, and its payload.
///
/// The payload's length is the header's `length`. A decoded frame's payload is a slice of
/// the bytes read from the connection, not a copy.
public struct Frame: Sendable, Hashable, CustomStringConvertible {
    /// What the frame carries.
    public var type: FrameType
    /// The frame's flags; only those `type.definedFlags` names mean anything.
    public var flags: FrameFlags
    /// The stream the frame belongs to; 0 for the connection.
    public var streamID: StreamID
    /// The payload: a protobuf message, or for a client's END_STREAM MESSAGE possibly nothing.
    public var payload: ByteBuffer

    public init(type: FrameType, flags: FrameFlags = [], streamID: StreamID, payload: ByteBuffer) {
        self.type = type
        self.flags = flags
        self.streamID = streamID
        self.payload = payload
    }

    /// The frame's header, its length taken from the payload.
    public var header: FrameHeader {
        // A ByteBuffer holds at most UInt32.max bytes, so the length always fits.
        FrameHeader(length: UInt32(truncatingIfNeeded: payload.readableBytes), type: type, flags: flags, streamID: streamID)
    }

    /// Appends the header and the payload to `buffer`.
    public func write(to buffer: inout ByteBuffer) {
        header.write(to: &buffer)
        var payload = payload
        buffer.writeBuffer(&payload)
    }

    /// Whether the frame ends the sender's half of its stream: a client's HEADERS or
    /// MESSAGE with END_STREAM. (TRAILERS and RST_STREAM end the whole stream.)
    public func endsStream(from sender: ConnectionRole) -> Bool {
        sender == .client && (type == .headers || type == .message) && flags.contains(.endStream)
    }

    /// Whether the frame carries a message: every MESSAGE frame except a client's
    /// END_STREAM MESSAGE with an empty payload, which only half-closes.
    public func carriesMessage(from sender: ConnectionRole) -> Bool {
        type == .message && !(endsStream(from: sender) && payload.readableBytes == 0)
    }

    /// `MESSAGE flags=0x01 stream=1 length=15`.
    public var description: String { header.description }
}
