public import NIOCore

// Protobuf payloads straight into and out of ByteBuffers: decoding reads the buffer's own
// bytes in place; encoding packs into the encoder's arena and copies once into the buffer.

extension ByteBuffer {
    /// Appends `message`'s protobuf encoding; returns the number of bytes written.
    @discardableResult
    public mutating func writeWireMessage<M: WireMessage>(
        _ message: M, using encoder: WireEncoder
    ) throws(WireEncodingError) -> Int {
        try encoder.withEncodedBytes(message) { bytes in self.writeBytes(bytes) }
    }

    /// Decodes all readable bytes as one `M`, in place, without moving the reader index.
    public func decodeWireMessage<M: WireMessage>(
        _ type: M.Type = M.self, using decoder: WireDecoder
    ) throws(WireDecodingError) -> M {
        try withUnsafeReadableBytes { (bytes) throws(WireDecodingError) -> M in
            try decoder.decode(type, from: bytes)
        }
    }

    /// Appends a whole frame whose payload is `message`'s encoding, with no intermediate
    /// buffer; returns the number of bytes written, header included.
    @discardableResult
    public mutating func writeFrame<M: WireMessage>(
        _ type: FrameType, flags: FrameFlags = [], streamID: StreamID, message: M, using encoder: WireEncoder
    ) throws(WireEncodingError) -> Int {
        let start = writerIndex
        FrameHeader(length: 0, type: type, flags: flags, streamID: streamID).write(to: &self)
        let length: Int
        do {
            length = try writeWireMessage(message, using: encoder)
        } catch {
            moveWriterIndex(to: start)
            throw error
        }
        setInteger(UInt32(truncatingIfNeeded: length), at: start, endianness: .big, as: UInt32.self)
        return FrameHeader.byteCount + length
    }

    /// Appends `frame`: header, then payload. Returns the number of bytes written.
    @discardableResult
    public mutating func writeFrame(_ frame: Frame) -> Int {
        let start = writerIndex
        frame.write(to: &self)
        return writerIndex - start
    }
}

extension Frame {
    /// A frame whose payload is `message`'s protobuf encoding.
    public init<M: WireMessage>(
        _ type: FrameType, flags: FrameFlags = [], streamID: StreamID, message: M,
        using encoder: WireEncoder, allocator: ByteBufferAllocator = ByteBufferAllocator()
    ) throws(WireEncodingError) {
        var payload = allocator.buffer(capacity: 0)
        try payload.writeWireMessage(message, using: encoder)
        self.init(type: type, flags: flags, streamID: streamID, payload: payload)
    }

    /// The payload decoded as the control message `M`.
    ///
    /// - Throws: `FrameError.invalidPayload` when it is not a valid `M`: a connection error.
    ///   (A MESSAGE payload that does not decode is only the call's error: decode it with
    ///   `payload.decodeWireMessage(_:using:)` instead.)
    public func decodeControlPayload<M: WireMessage>(
        as type: M.Type = M.self, using decoder: WireDecoder
    ) throws(FrameError) -> M {
        do {
            return try payload.decodeWireMessage(type, using: decoder)
        } catch {
            throw .invalidPayload(type: self.type, error)
        }
    }
}
