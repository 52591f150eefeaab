public import NIOCore

/// Turns the bytes a connection receives into `Frame`s: a `FrameParser` in a
/// `ByteToMessageDecoder`.
///
/// Put it in a `ByteToMessageHandler` right after the TLS handler. A bad frame header
/// (over-long, unknown type, reserved bit, wrong stream) fires a `FrameError` as soon as the
/// 10 header bytes are in, without waiting for the body; the handler then drops all later
/// input (NIO reports `ByteToMessageDecoderError.dataReceivedInErrorState`). When the
/// connection ends mid-frame, `FrameError.truncated` is fired with the count of left-over
/// bytes.
public struct FrameDecoder: ByteToMessageDecoder {
    public typealias InboundOut = Frame

    private var parser: FrameParser

    /// A decoder for the bytes `role` receives, held to `limits` (the receiver's own).
    public init(role: ConnectionRole, limits: ProtocolLimits = .default) {
        parser = FrameParser(role: role, limits: limits)
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let frame = try parser.nextFrame(from: &buffer) else { return .needMoreData }
        context.fireChannelRead(Self.wrapInboundOut(frame))
        return .continue
    }

    public mutating func decodeLast(
        context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool
    ) throws -> DecodingState {
        while let frame = try parser.nextFrame(from: &buffer) {
            context.fireChannelRead(Self.wrapInboundOut(frame))
        }
        if seenEOF {
            try parser.checkEndOfInput(unread: buffer)
        }
        return .needMoreData
    }
}
