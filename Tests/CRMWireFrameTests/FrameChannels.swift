import CRMWire
import NIOCore
import NIOEmbedded

/// An EmbeddedChannel with a `FrameDecoder` for `role`: bytes in, frames out. No sockets.
struct DecodingChannel {
    let channel = EmbeddedChannel()

    init(role: ConnectionRole, limits: ProtocolLimits = .default) throws {
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder(role: role, limits: limits)))
    }

    /// Feeds `bytes` as one read; throws what the decoder fires.
    func feed(_ bytes: [UInt8]) throws {
        try channel.writeInbound(ByteBuffer(bytes: bytes))
    }

    func feed(_ buffer: ByteBuffer) throws {
        try channel.writeInbound(buffer)
    }

    /// Every frame decoded so far and not yet read.
    func frames() throws -> [Frame] {
        var frames: [Frame] = []
        while let frame = try channel.readInbound(as: Frame.self) { frames.append(frame) }
        return frames
    }

    /// Ends the input (EOF); throws what the decoder reports about left-over bytes.
    func finish() throws -> EmbeddedChannel.LeftOverState {
        try channel.finish()
    }
}

/// Frames through an EmbeddedChannel with a `FrameEncoder`: what goes on the wire.
func encodeThroughChannel(_ frames: [Frame]) throws -> ByteBuffer {
    let channel = EmbeddedChannel()
    try channel.pipeline.syncOperations.addHandler(MessageToByteHandler(FrameEncoder()))
    var wire = ByteBuffer()
    for frame in frames {
        try channel.writeOutbound(frame)
        while var bytes = try channel.readOutbound(as: ByteBuffer.self) { wire.writeBuffer(&bytes) }
    }
    _ = try channel.finish()
    return wire
}

/// The preface and a SETTINGS frame with no entries: what a minimal client sends first.
func clientOpening() -> [UInt8] {
    ConnectionPreface.bytes + header(length: 0, type: 5, streamID: 0)
}

/// A raw 10-byte frame header, for headers `FrameHeader` cannot express (unknown types,
/// reserved bits).
func header(length: UInt32, type: UInt8, flags: UInt8 = 0, streamID: UInt32) -> [UInt8] {
    var buffer = ByteBuffer()
    buffer.writeInteger(length, endianness: .big, as: UInt32.self)
    buffer.writeInteger(type)
    buffer.writeInteger(flags)
    buffer.writeInteger(streamID, endianness: .big, as: UInt32.self)
    return Array(buffer.readableBytesView)
}

extension Frame {
    /// The frame's bytes on the wire.
    var wireBytes: [UInt8] {
        var buffer = ByteBuffer()
        buffer.writeFrame(self)
        return Array(buffer.readableBytesView)
    }
}
