package import CProtobufC
package import CRMWire

/// A small deterministic random number generator (SplitMix64), so that every failure
/// can be reproduced from its seed.
package struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64

    package init(seed: UInt64) { state = seed }

    package mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Fills C messages of any type with random values by walking protobuf-c's descriptors,
/// independently of the generated Swift, so that protobuf-c's own `pack` makes the bytes
/// the Swift decoder is tested against (by the codec's tests, and as the message fuzz target's seeds).
package struct RandomCMessage {
    let arena: WireArena
    var rng: SeededGenerator

    /// A filler allocating in `arena` (which must outlive the messages) and drawing from `rng`.
    package init(arena: WireArena, rng: SeededGenerator) {
        self.arena = arena
        self.rng = rng
    }

    private static let samples = ["", "a", "Budi Santoso", "café", "中文", "emoji 🙂", "+6281234567890", "x@y.id"]

    /// A filled message of `descriptor`, or nil when nesting is too deep to go on.
    package mutating func make(_ descriptor: UnsafePointer<ProtobufCMessageDescriptor>, depth: Int = 0)
        -> UnsafeMutableRawPointer
    {
        let d = descriptor.pointee
        let message = arena.allocate(byteCount: d.sizeof_message)!
        d.message_init(message.assumingMemoryBound(to: ProtobufCMessage.self))
        var oneofDone: Set<UInt32> = []
        for i in 0..<Int(d.n_fields) {
            let field = d.fields[i]
            if field.flags & UInt32(PROTOBUF_C_FIELD_FLAG_ONEOF.rawValue) != 0 {
                // Choose at most one member of each oneof (members share quantifier_offset).
                guard !oneofDone.contains(field.quantifier_offset) else { continue }
                let members = (0..<Int(d.n_fields)).map { d.fields[$0] }.filter {
                    $0.flags & UInt32(PROTOBUF_C_FIELD_FLAG_ONEOF.rawValue) != 0
                        && $0.quantifier_offset == field.quantifier_offset
                }
                oneofDone.insert(field.quantifier_offset)
                let choice = Int.random(in: -1..<members.count, using: &rng)
                guard choice >= 0 else { continue }
                let chosen = members[choice]
                (message + Int(chosen.quantifier_offset)).storeBytes(of: chosen.id, as: UInt32.self)
                write(chosen, at: message + Int(chosen.offset), depth: depth, present: true)
            } else if field.label == PROTOBUF_C_LABEL_REPEATED {
                let count = depth > 2 ? Int.random(in: 0...1, using: &rng) : Int.random(in: 0...3, using: &rng)
                let size = Self.elementSize(field.type)
                let array = arena.allocate(byteCount: max(1, size * count))!
                for k in 0..<count { write(field, at: array + k * size, depth: depth, present: true) }
                (message + Int(field.quantifier_offset)).storeBytes(of: count, as: Int.self)
                (message + Int(field.offset)).storeBytes(of: count == 0 ? nil : array, as: UnsafeMutableRawPointer?.self)
            } else {
                write(field, at: message + Int(field.offset), depth: depth, present: Bool.random(using: &rng))
            }
        }
        return message
    }

    private static func elementSize(_ type: ProtobufCType) -> Int {
        switch type {
        case PROTOBUF_C_TYPE_INT64, PROTOBUF_C_TYPE_SINT64, PROTOBUF_C_TYPE_SFIXED64, PROTOBUF_C_TYPE_UINT64,
            PROTOBUF_C_TYPE_FIXED64, PROTOBUF_C_TYPE_DOUBLE:
            8
        case PROTOBUF_C_TYPE_STRING, PROTOBUF_C_TYPE_MESSAGE: MemoryLayout<UnsafeRawPointer>.size
        case PROTOBUF_C_TYPE_BYTES: MemoryLayout<ProtobufCBinaryData>.size
        default: 4
        }
    }

    private mutating func write(_ field: ProtobufCFieldDescriptor, at p: UnsafeMutableRawPointer, depth: Int, present: Bool) {
        switch field.type {
        case PROTOBUF_C_TYPE_INT32, PROTOBUF_C_TYPE_SINT32, PROTOBUF_C_TYPE_SFIXED32:
            p.storeBytes(of: present ? Int32.random(in: .min ... .max, using: &rng) : 0, as: Int32.self)
        case PROTOBUF_C_TYPE_UINT32, PROTOBUF_C_TYPE_FIXED32:
            p.storeBytes(of: present ? UInt32.random(in: 0 ... .max, using: &rng) : 0, as: UInt32.self)
        case PROTOBUF_C_TYPE_INT64, PROTOBUF_C_TYPE_SINT64, PROTOBUF_C_TYPE_SFIXED64:
            p.storeBytes(of: present ? Int64.random(in: .min ... .max, using: &rng) : 0, as: Int64.self)
        case PROTOBUF_C_TYPE_UINT64, PROTOBUF_C_TYPE_FIXED64:
            p.storeBytes(of: present ? UInt64.random(in: 0 ... .max, using: &rng) : 0, as: UInt64.self)
        case PROTOBUF_C_TYPE_FLOAT:
            p.storeBytes(of: present ? Float.random(in: -1e6...1e6, using: &rng) : 0, as: Float.self)
        case PROTOBUF_C_TYPE_DOUBLE:
            p.storeBytes(of: present ? Double.random(in: -1e12...1e12, using: &rng) : 0, as: Double.self)
        case PROTOBUF_C_TYPE_BOOL:
            p.storeBytes(of: present ? 1 : 0, as: Int32.self)
        case PROTOBUF_C_TYPE_ENUM:
            let e = field.descriptor!.assumingMemoryBound(to: ProtobufCEnumDescriptor.self).pointee
            // Now and then a number this build does not know, as a newer peer might send.
            let value = Int.random(in: 0..<10, using: &rng) == 0
                ? Int32(900 + Int.random(in: 0..<9, using: &rng))
                : e.values[Int.random(in: 0..<Int(e.n_values), using: &rng)].value
            p.storeBytes(of: present ? value : 0, as: Int32.self)
        case PROTOBUF_C_TYPE_STRING:
            guard present else { return }
            let text = Self.samples.randomElement(using: &rng)!
            let bytes = Array(text.utf8) + [0]
            let copy = arena.allocate(byteCount: bytes.count)!
            copy.copyMemory(from: bytes, byteCount: bytes.count)
            p.storeBytes(of: copy, as: UnsafeMutableRawPointer.self)
        case PROTOBUF_C_TYPE_BYTES:
            guard present else { return }
            let count = Int.random(in: 0...5, using: &rng)
            let copy = arena.allocate(byteCount: max(count, 1))!
            for k in 0..<count { (copy + k).storeBytes(of: UInt8.random(in: 0...255, using: &rng), as: UInt8.self) }
            p.storeBytes(
                of: ProtobufCBinaryData(len: count, data: copy.assumingMemoryBound(to: UInt8.self)),
                as: ProtobufCBinaryData.self)
        case PROTOBUF_C_TYPE_MESSAGE:
            guard present else {
                p.storeBytes(of: nil, as: UnsafeMutableRawPointer?.self)
                return
            }
            let sub = field.descriptor!.assumingMemoryBound(to: ProtobufCMessageDescriptor.self)
            p.storeBytes(of: make(sub, depth: depth + 1), as: UnsafeMutableRawPointer.self)
        default:
            fatalError("unexpected field type \(field.type)")
        }
    }

    /// protobuf-c's encoding of the C message at `message`.
    package static func pack(_ message: UnsafeMutableRawPointer) -> [UInt8] {
        let base = message.assumingMemoryBound(to: ProtobufCMessage.self)
        let size = protobuf_c_message_get_packed_size(base)
        return [UInt8](unsafeUninitializedCapacity: max(size, 1)) { buffer, count in
            count = protobuf_c_message_pack(base, buffer.baseAddress!)
        }
    }
}
