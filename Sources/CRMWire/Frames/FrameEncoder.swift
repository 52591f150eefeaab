public import NIOCore

/// Writes `Frame`s as bytes: header, then payload. Use it in a `MessageToByteHandler`.
///
/// It checks nothing against the peer's limits: the connection does that before it makes
/// a frame, where it can still fail just the one call.
public struct FrameEncoder: MessageToByteEncoder {
    public typealias OutboundIn = Frame

    public init() {}

    public func encode(data frame: Frame, out: inout ByteBuffer) {
        out.reserveCapacity(minimumWritableBytes: FrameHeader.byteCount + frame.payload.readableBytes)
        frame.write(to: &out)
    }
}
