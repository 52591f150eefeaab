import CRMWire
import NIOCore

/// Why a frame could not be appended.
enum OutboundFrameError: Error {
    /// The message cannot be encoded (a NUL in a string).
    case encoding(WireEncodingError)
    /// The payload is over the peer's limit for the frame type.
    case tooLarge(size: Int, limit: Int)
}

/// The frames a connection writes until its next flush, encoded straight into one reused
/// buffer: no buffer per frame, no copy of a payload between the encoder and TLS.
struct OutboundFrames {
    private var buffer: ByteBuffer
    private let allocator: ByteBufferAllocator
    /// One encoder per connection. Its size limit is lifted: the peer's limits are checked here.
    let encoder = WireEncoder(limits: WireLimits(maxMessageSize: Int(Int32.max)))

    /// Buffers that grew past this for a large message are not kept between flushes.
    private static let retainedCapacity = 256 * 1024

    init(allocator: ByteBufferAllocator) {
        self.allocator = allocator
        buffer = allocator.buffer(capacity: 1024)
    }

    var isEmpty: Bool { buffer.readableBytes == 0 }

    /// Appends the client's connection preface.
    mutating func appendPreface() {
        buffer.writeBytes(ConnectionPreface.bytes)
    }

    /// Appends a frame whose payload is `message`, checking the payload against `limit`.
    /// Returns the payload's length.
    @discardableResult
    mutating func append<M: WireMessage>(
        _ type: FrameType, flags: FrameFlags = [], streamID: StreamID, message: M, limit: Int
    ) throws(OutboundFrameError) -> Int {
        let start = buffer.writerIndex
        let written: Int
        do {
            written = try buffer.writeFrame(type, flags: flags, streamID: streamID, message: message, using: encoder)
        } catch {
            throw .encoding(error)
        }
        let length = written - FrameHeader.byteCount
        guard length <= limit else {
            buffer.moveWriterIndex(to: start)
            throw .tooLarge(size: length, limit: limit)
        }
        return length
    }

    /// Appends a control frame the peer's limits always allow (SETTINGS, PING, WINDOW_UPDATE,
    /// GOAWAY, RST_STREAM with short messages). Encoding fails only on a NUL in a string, which
    /// these never carry; such a frame is dropped.
    mutating func appendControl<M: WireMessage>(_ type: FrameType, flags: FrameFlags = [], streamID: StreamID, message: M) {
        _ = try? append(type, flags: flags, streamID: streamID, message: message, limit: Int(Int32.max))
    }

    /// Appends a frame whose payload is already encoded.
    mutating func append(_ frame: Frame) {
        buffer.writeFrame(frame)
    }

    /// Sets END_STREAM on the frame appended last, whose payload is `length` bytes.
    mutating func setEndStreamOnLastFrame(payloadLength length: Int) {
        let flagsIndex = buffer.writerIndex - length - FrameHeader.byteCount + 5
        let flags = buffer.getInteger(at: flagsIndex, as: UInt8.self) ?? 0
        buffer.setInteger(flags | FrameFlags.endStream.rawValue, at: flagsIndex, as: UInt8.self)
    }

    /// Removes the frame appended last, whose payload is `length` bytes, and returns a copy of its
    /// payload to send later.
    mutating func removeLast(payloadLength length: Int) -> ByteBuffer {
        let payloadStart = buffer.writerIndex - length
        var payload = allocator.buffer(capacity: length)
        if let slice = buffer.getSlice(at: payloadStart, length: length) {
            payload.writeImmutableBuffer(slice)
        }
        buffer.moveWriterIndex(to: payloadStart - FrameHeader.byteCount)
        return payload
    }

    /// Takes everything appended, without a channel (what `ConnectionCore`'s tests read).
    mutating func take() -> ByteBuffer {
        defer { buffer = allocator.buffer(capacity: 1024) }
        return buffer
    }

    /// What is appended, to write: a copy that shares the storage, so the write happens outside any access to the
    /// connection's state (a failed write calls back into the handler at once: the channel closes). Nil when empty.
    var pending: ByteBuffer? { isEmpty ? nil : buffer }

    /// The first `count` bytes of ``pending`` were written and are dropped; what was appended meanwhile stays. Once
    /// nothing is left the storage is reused: TLS encrypted the bytes during the write and let go of them.
    mutating func written(_ count: Int) {
        buffer.moveReaderIndex(forwardBy: count)
        guard buffer.readableBytes == 0 else { return }
        if buffer.capacity > Self.retainedCapacity {
            buffer = allocator.buffer(capacity: 1024)
        } else {
            buffer.clear()
        }
    }
}

extension OutboundFrameError {
    /// The status that ends a call whose frame of `type` cannot be sent by `sender`. A request that cannot be
    /// encoded is the caller's to fix (INVALID_ARGUMENT), a response the server's (INTERNAL); one over the peer's
    /// limit is RESOURCE_EXHAUSTED either way.
    func status(of type: FrameType, from sender: ConnectionRole) -> RPCStatus {
        let part = "\(sender == .client ? "request" : "response") \(type == .message ? "message" : "\(type)".lowercased())"
        switch self {
        case .encoding(let error):
            return RPCStatus(code: sender == .client ? .invalidArgument : .internal, message: "cannot send the \(part): \(error)")
        case .tooLarge(let size, let limit):
            let verb = type == .message ? "is" : "are"
            return RPCStatus(
                code: .resourceExhausted, message: "\(part) of \(size) bytes \(verb) over the \(sender.peer)'s limit of \(limit)")
        }
    }
}
