public import NIOCore

/// The 10 bytes before every frame's payload (docs/PROTOCOL.md, "Frames"):
///
/// ```
/// offset 0  length     uint32 big-endian: payload bytes, header excluded
/// offset 4  type       uint8
/// offset 5  flags      uint8
/// offset 6  stream_id  uint32 big-endian: high bit reserved, 0
/// ```
public struct FrameHeader: Sendable, Hashable, CustomStringConvertible {
    /// The header's size on the wire: 10 bytes.
    public static let byteCount = 10

    /// The payload's length in bytes.
    public var length: UInt32
    /// What the frame carries.
    public var type: FrameType
    /// The frame's flags; only those `type.definedFlags` names mean anything.
    public var flags: FrameFlags
    /// The stream the frame belongs to; 0 for the connection.
    public var streamID: StreamID

    public init(length: UInt32, type: FrameType, flags: FrameFlags = [], streamID: StreamID) {
        self.length = length
        self.type = type
        self.flags = flags
        self.streamID = streamID
    }

    /// Appends the 10 header bytes to `buffer`.
    public func write(to buffer: inout ByteBuffer) {
        buffer.writeInteger(length, endianness: .big, as: UInt32.self)
        buffer.writeInteger(type.rawValue, as: UInt8.self)
        buffer.writeInteger(flags.rawValue, as: UInt8.self)
        buffer.writeInteger(streamID.rawValue, endianness: .big, as: UInt32.self)
    }

    /// The header in the 10 bytes at `buffer`'s reader index, without moving it; nil when
    /// fewer than 10 bytes are readable.
    ///
    /// Checks only what the header alone tells: the type is known and the reserved bit is
    /// clear. `FrameParser` checks the rest.
    public static func peek(in buffer: ByteBuffer) throws(FrameError) -> FrameHeader? {
        let start = buffer.readerIndex
        guard buffer.readableBytes >= byteCount,
            let length = buffer.getInteger(at: start, endianness: .big, as: UInt32.self),
            let rawType = buffer.getInteger(at: start + 4, as: UInt8.self),
            let rawFlags = buffer.getInteger(at: start + 5, as: UInt8.self),
            let rawStreamID = buffer.getInteger(at: start + 6, endianness: .big, as: UInt32.self)
        else { return nil }
        guard let type = FrameType(rawValue: rawType) else {
            throw .unknownFrameType(rawType: rawType, rawStreamID: rawStreamID)
        }
        guard let streamID = StreamID(rawValue: rawStreamID) else {
            throw .reservedBitSet(type: type, rawStreamID: rawStreamID)
        }
        return FrameHeader(length: length, type: type, flags: FrameFlags(rawValue: rawFlags), streamID: streamID)
    }

    /// `HEADERS flags=0x01 stream=1 length=35`.
    public var description: String {
        "\(type) flags=\(flags) stream=\(streamID) length=\(length)"
    }
}
