import CProtobufC

/// Walks encoded bytes guided by protobuf-c's descriptors and names the first thing wrong.
///
/// protobuf-c's `unpack` returns NULL without a reason and recurses without a depth
/// limit. The decoder runs this scanner before `unpack` when a message type can nest
/// deeper than the limit allows, and after `unpack` fails, to say why.
struct WireScanner {
    let limits: WireLimits

    /// Throws the first problem in `bytes` read as a message of descriptor `d`, with an
    /// empty message name for the caller to fill in.
    func scan(_ bytes: UnsafeRawBufferPointer, as d: UnsafePointer<ProtobufCMessageDescriptor>) throws(WireDecodingError) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        try scanMessage(base, start: 0, end: bytes.count, descriptor: d, depth: 1)
    }

    private func fail(_ reason: WireDecodingError.Reason, _ path: String = "") -> WireDecodingError {
        WireDecodingError(messageName: "", fieldPath: path, reason: reason)
    }

    private func readVarint(_ base: UnsafeRawPointer, _ pos: inout Int, _ end: Int, path: String) throws(WireDecodingError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard pos < end else { throw fail(.truncated, path) }
            let byte = base.load(fromByteOffset: pos, as: UInt8.self)
            pos += 1
            if shift == 63 && byte > 1 { throw fail(.malformedVarint, path) }
            result |= UInt64(byte & 0x7f) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
            if shift > 63 { throw fail(.malformedVarint, path) }
        }
    }

    private static func wireType(of type: ProtobufCType) -> WireType {
        switch type {
        case PROTOBUF_C_TYPE_FIXED64, PROTOBUF_C_TYPE_SFIXED64, PROTOBUF_C_TYPE_DOUBLE: .fixed64
        case PROTOBUF_C_TYPE_FIXED32, PROTOBUF_C_TYPE_SFIXED32, PROTOBUF_C_TYPE_FLOAT: .fixed32
        case PROTOBUF_C_TYPE_STRING, PROTOBUF_C_TYPE_BYTES, PROTOBUF_C_TYPE_MESSAGE: .lengthDelimited
        default: .varint
        }
    }

    private func scanMessage(
        _ base: UnsafeRawPointer, start: Int, end: Int,
        descriptor d: UnsafePointer<ProtobufCMessageDescriptor>, depth: Int
    ) throws(WireDecodingError) {
        var pos = start
        var counts: [UInt32: Int] = [:]
        while pos < end {
            let key = try readVarint(base, &pos, end, path: "")
            let number = key >> 3
            guard number >= 1, number <= 536_870_911 else { throw fail(.invalidFieldNumber(number)) }
            let rawType = Int(key & 7)
            guard let found = WireType(rawValue: rawType), found != .startGroup, found != .endGroup else {
                throw fail(.unsupportedWireType(rawType))
            }
            let field = protobuf_c_message_descriptor_get_field(d, UInt32(number))
            let name = field.map { String(cString: $0.pointee.name) } ?? "#\(number)"

            var payloadStart = pos
            switch found {
            case .varint:
                _ = try readVarint(base, &pos, end, path: name)
            case .fixed64:
                guard end - pos >= 8 else { throw fail(.truncated, name) }
                pos += 8
            case .fixed32:
                guard end - pos >= 4 else { throw fail(.truncated, name) }
                pos += 4
            case .lengthDelimited:
                let length = try readVarint(base, &pos, end, path: name)
                guard length <= UInt64(end - pos) else { throw fail(.truncated, name) }
                payloadStart = pos
                pos += Int(length)
            case .startGroup, .endGroup:
                throw fail(.unsupportedWireType(rawType))
            }
            guard let field else { continue }  // unknown: well-formed, skipped

            let f = field.pointee
            let isRepeated = f.label == PROTOBUF_C_LABEL_REPEATED
            let expected = Self.wireType(of: f.type)
            var elements = 1
            if found != expected {
                guard isRepeated, found == .lengthDelimited, expected != .lengthDelimited else {
                    throw fail(.wrongWireType(fieldNumber: Int(number), expected: expected, found: found), name)
                }
                elements = try packedCount(base, start: payloadStart, end: pos, elementType: expected, number: Int(number), name: name)
            } else if f.type == PROTOBUF_C_TYPE_STRING {
                let bytes = UnsafeRawBufferPointer(start: base + payloadStart, count: pos - payloadStart)
                let path = isRepeated ? "\(name)[\(counts[f.id, default: 0])]" : name
                if bytes.contains(0) { throw fail(.nulInString, path) }
                if String(validating: bytes, as: UTF8.self) == nil { throw fail(.invalidUTF8, path) }
            } else if f.type == PROTOBUF_C_TYPE_MESSAGE, let sub = f.descriptor {
                let index: Int? = isRepeated ? counts[f.id, default: 0] : nil
                guard depth < limits.maxNestingDepth else {
                    throw fail(.nestingTooDeep(limit: limits.maxNestingDepth)).nested(inField: name, index: index)
                }
                do {
                    try scanMessage(
                        base, start: payloadStart, end: pos,
                        descriptor: sub.assumingMemoryBound(to: ProtobufCMessageDescriptor.self), depth: depth + 1)
                } catch {
                    throw error.nested(inField: name, index: index)
                }
            }
            if isRepeated {
                let count = counts[f.id, default: 0] + elements
                counts[f.id] = count
                if count > limits.maxRepeatedCount {
                    throw fail(.tooManyElements(count: count, limit: limits.maxRepeatedCount), name)
                }
            }
        }
    }

    /// The number of elements in a packed repeated field.
    private func packedCount(
        _ base: UnsafeRawPointer, start: Int, end: Int, elementType: WireType, number: Int, name: String
    ) throws(WireDecodingError) -> Int {
        let length = end - start
        switch elementType {
        case .fixed64:
            guard length % 8 == 0 else { throw fail(.malformedPackedField(fieldNumber: number), name) }
            return length / 8
        case .fixed32:
            guard length % 4 == 0 else { throw fail(.malformedPackedField(fieldNumber: number), name) }
            return length / 4
        default:
            var count = 0
            var pos = start
            while pos < end {
                do {
                    _ = try readVarint(base, &pos, end, path: name)
                } catch {
                    throw fail(.malformedPackedField(fieldNumber: number), name)
                }
                count += 1
            }
            return count
        }
    }
}
