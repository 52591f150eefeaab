public import NIOCore

/// Cuts the bytes one side receives into frames, checking everything a frame says by
/// itself; the per-stream rules are the connection's business.
///
/// A pure state machine: feed it the bytes received so far, take the frames out. It reads
/// a frame header as soon as its 10 bytes are there and rejects it at once when it is bad,
/// in particular when its length is over the limit: the body is never waited for nor
/// buffered. After an error it stays failed and every call throws that error again.
///
/// It checks, in this order (docs/PROTOCOL.md, "Frame checks"): on a server, the client's
/// preface; then for each header, the type is known, the reserved bit is clear, the first
/// frame is a SETTINGS without ACK, the length is within the limit for the type, the stream
/// id suits the type (0 or not, odd), and the sender's role may send the type.
public struct FrameParser: Sendable {
    private enum State: Sendable, Hashable {
        /// On a server: this many bytes of the client's preface have matched.
        case awaitingPreface(matched: Int)
        /// The next header is the peer's first frame's.
        case awaitingFirstHeader
        case awaitingHeader
        case awaitingPayload(FrameHeader)
        case failed(FrameError)
    }

    /// The side that receives: a server expects the preface, and frames from a client.
    public let role: ConnectionRole
    /// The receiver's own limits; only the frame sizes matter here.
    public let limits: ProtocolLimits
    private var state: State

    /// A parser for the bytes that `role` receives, at the very start of the connection.
    public init(role: ConnectionRole, limits: ProtocolLimits = .default) {
        self.role = role
        self.limits = limits
        state = role == .server ? .awaitingPreface(matched: 0) : .awaitingFirstHeader
    }

    /// Whether the bytes consumed so far end exactly at a frame boundary (or the preface
    /// has not started): closing now would cut nothing in half.
    public var isAtFrameBoundary: Bool {
        switch state {
        case .awaitingPreface(let matched): matched == 0
        case .awaitingFirstHeader, .awaitingHeader, .failed: true
        case .awaitingPayload: false
        }
    }

    /// The next whole frame from `buffer`, consuming its bytes, or nil when more bytes are
    /// needed. The payload is a slice of `buffer`, not a copy.
    ///
    /// - Throws: `FrameError` for the first rule the bytes break; the parser then stays failed.
    public mutating func nextFrame(from buffer: inout ByteBuffer) throws(FrameError) -> Frame? {
        while true {
            switch state {
            case .failed(let error):
                throw error

            case .awaitingPreface(let matched):
                let needed = ConnectionPreface.count - matched
                let available = min(needed, buffer.readableBytes)
                let expected = ConnectionPreface.bytes[matched..<(matched + available)]
                guard let received = buffer.getBytes(at: buffer.readerIndex, length: available) else { return nil }
                guard received.elementsEqual(expected) else {
                    try fail(.badPreface(received: Array(ConnectionPreface.bytes[0..<matched]) + received))
                }
                buffer.moveReaderIndex(forwardBy: available)
                if available < needed {
                    state = .awaitingPreface(matched: matched + available)
                    return nil
                }
                state = .awaitingFirstHeader

            case .awaitingFirstHeader, .awaitingHeader:
                let header: FrameHeader
                do {
                    guard let peeked = try FrameHeader.peek(in: buffer) else { return nil }
                    header = peeked
                    try check(header, isFirst: state == .awaitingFirstHeader)
                } catch {
                    try fail(error)
                }
                buffer.moveReaderIndex(forwardBy: FrameHeader.byteCount)
                state = .awaitingPayload(header)

            case .awaitingPayload(let header):
                guard let payload = buffer.readSlice(length: Int(header.length)) else { return nil }
                state = .awaitingHeader
                return Frame(type: header.type, flags: header.flags, streamID: header.streamID, payload: payload)
            }
        }
    }

    /// Call when the input has ended, with the bytes `nextFrame` left unread: fine at a
    /// frame boundary with nothing left, otherwise the connection was cut mid-frame.
    ///
    /// - Throws: `FrameError.truncated`, saying how many bytes of what arrived.
    public func checkEndOfInput(unread buffer: ByteBuffer) throws(FrameError) {
        switch state {
        case .failed:
            return  // already reported
        case .awaitingPreface(let matched):
            let received = matched + buffer.readableBytes
            if received > 0 { throw .truncated(.preface, expected: ConnectionPreface.count, received: received) }
        case .awaitingFirstHeader, .awaitingHeader:
            if buffer.readableBytes > 0 {
                throw .truncated(.header, expected: FrameHeader.byteCount, received: buffer.readableBytes)
            }
        case .awaitingPayload(let header):
            throw .truncated(.payload(header), expected: Int(header.length), received: buffer.readableBytes)
        }
    }

    private func check(_ header: FrameHeader, isFirst: Bool) throws(FrameError) {
        if isFirst, header.type != .settings || header.flags.contains(.ack) {
            throw .firstFrameNotSettings(type: header.type, flags: header.flags)
        }
        let limit = limits.maxPayloadSize(of: header.type)
        if header.length > limit {
            throw .frameTooLarge(type: header.type, length: header.length, limit: limit)
        }
        switch header.type.streamScope {
        case .connection:
            if !header.streamID.isConnection {
                throw .connectionFrameOnStream(type: header.type, streamID: header.streamID)
            }
        case .stream:
            if header.streamID.isConnection { throw .streamIDRequired(type: header.type) }
        case .either:
            break
        }
        if !header.streamID.isConnection, !header.streamID.isClientInitiated {
            throw .evenStreamID(type: header.type, streamID: header.streamID)
        }
        if role == .server, header.type == .trailers {
            throw .notAllowed(type: header.type, from: .client)
        }
    }

    private mutating func fail(_ error: FrameError) throws(FrameError) -> Never {
        state = .failed(error)
        throw error
    }
}
