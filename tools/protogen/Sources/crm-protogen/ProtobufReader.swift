/// A minimal reader of the protobuf wire format, enough to read `descriptor.proto` messages.
///
/// The generator cannot use the code it generates, so it reads descriptors with this
/// small, strict reader instead of depending on a protobuf library.
struct ProtobufReader {
    enum Failure: Error, CustomStringConvertible {
        case truncated(offset: Int)
        case malformedVarint(offset: Int)
        case unsupportedWireType(Int, offset: Int)

        var description: String {
            switch self {
            case .truncated(let offset): "descriptor set is truncated at byte \(offset)"
            case .malformedVarint(let offset): "descriptor set has a malformed varint at byte \(offset)"
            case .unsupportedWireType(let type, let offset):
                "descriptor set has unsupported wire type \(type) at byte \(offset)"
            }
        }
    }

    /// One field as read from the wire.
    enum Value {
        case varint(UInt64)
        case fixed64(UInt64)
        case fixed32(UInt32)
        case bytes(ArraySlice<UInt8>)

        var uint64: UInt64 {
            switch self {
            case .varint(let v), .fixed64(let v): v
            case .fixed32(let v): UInt64(v)
            case .bytes: 0
            }
        }

        var slice: ArraySlice<UInt8> {
            if case .bytes(let b) = self { return b }
            return []
        }

        var string: String { String(decoding: slice, as: UTF8.self) }
    }

    private let bytes: ArraySlice<UInt8>
    private var index: Int

    init(_ bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        self.index = bytes.startIndex
    }

    /// Reads every field of the message, calling `body` with each field number and value.
    static func forEachField(
        in bytes: ArraySlice<UInt8>, _ body: (Int, Value) throws -> Void
    ) throws {
        var reader = ProtobufReader(bytes)
        while let (number, value) = try reader.next() {
            try body(number, value)
        }
    }

    /// Reads a packed or unpacked repeated varint field's values.
    static func varints(_ value: Value) throws -> [UInt64] {
        switch value {
        case .bytes(let slice):
            var reader = ProtobufReader(slice)
            var out: [UInt64] = []
            while reader.index < reader.bytes.endIndex { out.append(try reader.varint()) }
            return out
        default:
            return [value.uint64]
        }
    }

    private mutating func next() throws -> (Int, Value)? {
        guard index < bytes.endIndex else { return nil }
        let key = try varint()
        let number = Int(key >> 3)
        switch key & 7 {
        case 0: return (number, .varint(try varint()))
        case 1: return (number, .fixed64(try fixed(8)))
        case 5: return (number, .fixed32(UInt32(truncatingIfNeeded: try fixed(4))))
        case 2:
            let length = Int(try varint())
            guard length >= 0, bytes.endIndex - index >= length else { throw Failure.truncated(offset: index) }
            defer { index += length }
            return (number, .bytes(bytes[index..<(index + length)]))
        default:
            throw Failure.unsupportedWireType(Int(key & 7), offset: index)
        }
    }

    private mutating func varint() throws -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        let start = index
        while true {
            guard index < bytes.endIndex else { throw Failure.truncated(offset: index) }
            let byte = bytes[index]
            index += 1
            result |= UInt64(byte & 0x7f) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
            if shift >= 64 { throw Failure.malformedVarint(offset: start) }
        }
    }

    private mutating func fixed(_ width: Int) throws -> UInt64 {
        guard bytes.endIndex - index >= width else { throw Failure.truncated(offset: index) }
        var result: UInt64 = 0
        for i in 0..<width { result |= UInt64(bytes[index + i]) << (8 * UInt64(i)) }
        index += width
        return result
    }
}
