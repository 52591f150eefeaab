public import CProtobufC

/// Encodes messages through protobuf-c, reusing one arena across calls.
///
/// Not thread-safe: use one per task or connection. `WireMessage.wireBytes()` makes a
/// fresh one for each call.
public final class WireEncoder {
    /// The limits every encoded message is held to.
    public let limits: WireLimits
    @usableFromInline let arena = WireArena()

    public init(limits: WireLimits = .default) {
        self.limits = limits
    }

    /// The message in the protobuf wire format.
    @inlinable
    public func encode<M: WireMessage>(_ message: M) throws(WireEncodingError) -> [UInt8] {
        let (root, size) = try pack(message)
        return [UInt8](unsafeUninitializedCapacity: max(size, 1)) { buffer, count in
            count = size == 0 ? 0 : protobuf_c_message_pack(root, buffer.baseAddress!)
        }
    }

    /// Calls `body` with the message's encoding, which is valid only during the call.
    /// Saves a copy when the bytes go straight into another buffer.
    @inlinable
    public func withEncodedBytes<M: WireMessage, R>(
        _ message: M, _ body: (UnsafeRawBufferPointer) -> R
    ) throws(WireEncodingError) -> R {
        let (root, size) = try pack(message)
        let target = arena.allocate(UInt8.self, count: max(size, 1))
        let written = size == 0 ? 0 : protobuf_c_message_pack(root, target)
        return body(UnsafeRawBufferPointer(start: target, count: written))
    }

    /// Builds the message's C struct in the arena and measures its encoding.
    @inlinable
    func pack<M: WireMessage>(_ message: M) throws(WireEncodingError) -> (UnsafePointer<ProtobufCMessage>, Int) {
        arena.reset()
        var encoder = WireCEncoder(arena: arena)
        let c = try encoder.root(message)
        let root = UnsafeRawPointer(c).assumingMemoryBound(to: ProtobufCMessage.self)
        let size = protobuf_c_message_get_packed_size(root)
        guard size <= limits.maxMessageSize else {
            throw WireEncodingError(
                messageName: M.protoName, fieldPath: "", reason: .messageTooLarge(size: size, limit: limits.maxMessageSize))
        }
        return (root, size)
    }
}

/// Decodes messages through protobuf-c, strictly, reusing one arena across calls.
///
/// Not thread-safe: use one per task or connection. `WireMessage.init(wireBytes:)` makes a
/// fresh one for each call.
///
/// Unknown fields (from a newer schema) are checked for well-formedness and skipped: the
/// Swift values hold only the fields this build knows, so re-encoding drops them.
public final class WireDecoder {
    /// The limits every decoded message is held to.
    public let limits: WireLimits
    @usableFromInline let arena = WireArena()

    public init(limits: WireLimits = .default) {
        self.limits = limits
    }

    /// Decodes a message of type `type` from `bytes`.
    @inlinable
    public func decode<M: WireMessage>(_ type: M.Type = M.self, from bytes: [UInt8]) throws(WireDecodingError) -> M {
        try bytes.withUnsafeBufferPointer { (buffer) throws(WireDecodingError) -> M in
            try decode(type, from: UnsafeRawBufferPointer(buffer))
        }
    }

    /// Decodes a message of type `type` from `bytes`.
    @inlinable
    public func decode<M: WireMessage>(_ type: M.Type = M.self, from bytes: UnsafeRawBufferPointer) throws(WireDecodingError) -> M {
        do {
            return try unpackAndRead(type, from: bytes)
        } catch {
            var e = error
            e.messageName = M.protoName
            throw e
        }
    }

    @inlinable
    func unpackAndRead<M: WireMessage>(_ type: M.Type, from bytes: UnsafeRawBufferPointer) throws(WireDecodingError) -> M {
        let descriptor = M.wireDescriptor
        try check(bytes, descriptor)
        arena.reset(budget: limits.maxDecodeMemory)
        var allocator = arena.protobufCAllocator
        guard let unpacked = unpack(bytes, descriptor, &allocator) else { throw diagnose(bytes, descriptor) }
        var decoder = WireCDecoder(arena: arena, limits: limits)
        return try M(decodingC: UnsafeRawPointer(unpacked).assumingMemoryBound(to: M.CMessage.self), decoder: &decoder)
    }

    /// The checks protobuf-c cannot make before it unpacks: size, and nesting depth when
    /// the message type can nest deeper than the limit (protobuf-c recurses once per level).
    @usableFromInline
    func check(_ bytes: UnsafeRawBufferPointer, _ descriptor: WireDescriptor) throws(WireDecodingError) {
        guard bytes.count <= limits.maxMessageSize else {
            throw WireDecodingError(
                messageName: "", fieldPath: "", reason: .messageTooLarge(size: bytes.count, limit: limits.maxMessageSize))
        }
        if descriptor.maxNestingDepth > limits.maxNestingDepth {
            try WireScanner(limits: limits).scan(bytes, as: descriptor.pointer)
        }
    }

    @usableFromInline
    func unpack(
        _ bytes: UnsafeRawBufferPointer, _ descriptor: WireDescriptor, _ allocator: inout ProtobufCAllocator
    ) -> UnsafeMutablePointer<ProtobufCMessage>? {
        var empty: UInt8 = 0
        return withUnsafePointer(to: &empty) { emptyPointer in
            let data = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? emptyPointer
            return protobuf_c_message_unpack(descriptor.pointer, &allocator, bytes.count, data)
        }
    }

    /// Why protobuf-c refused `bytes`.
    @usableFromInline
    func diagnose(_ bytes: UnsafeRawBufferPointer, _ descriptor: WireDescriptor) -> WireDecodingError {
        do {
            try WireScanner(limits: limits).scan(bytes, as: descriptor.pointer)
        } catch {
            return error
        }
        if arena.budgetExceeded {
            return WireDecodingError(messageName: "", fieldPath: "", reason: .decodeMemoryExceeded(limit: limits.maxDecodeMemory))
        }
        return WireDecodingError(messageName: "", fieldPath: "", reason: .rejectedByProtobufC)
    }
}
