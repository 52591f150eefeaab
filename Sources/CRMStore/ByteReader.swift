/// Reads what ``ByteWriter`` wrote, refusing truncated or malformed input with a ``FactDecodingError``.
struct ByteReader {
    private let base: UnsafeRawBufferPointer
    private var offset = 0

    init(_ buffer: UnsafeRawBufferPointer) { base = buffer }

    var isAtEnd: Bool { offset == base.count }

    mutating func byte() throws(FactDecodingError) -> UInt8 {
        guard offset < base.count else { throw .truncated }
        defer { offset += 1 }
        return base[offset]
    }

    mutating func unsigned() throws(FactDecodingError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let b = try byte()
            guard shift < 64 else { throw .malformed("a varint longer than 64 bits") }
            result |= UInt64(b & 0x7F) << shift
            if b & 0x80 == 0 { return result }
            shift += 7
        }
    }

    mutating func signed() throws(FactDecodingError) -> Int64 {
        let raw = try unsigned()
        return Int64(bitPattern: (raw >> 1) ^ (0 &- (raw & 1)))
    }

    /// A count of items that follow, bounded by the bytes left (every item takes at least one byte).
    mutating func count() throws(FactDecodingError) -> Int {
        let raw = try unsigned()
        guard raw <= UInt64(base.count - offset) else { throw .malformed("a count of \(raw) with \(base.count - offset) bytes left") }
        return Int(raw)
    }

    mutating func bool() throws(FactDecodingError) -> Bool {
        switch try byte() {
        case 0: return false
        case 1: return true
        case let other: throw .malformed("a boolean byte \(other)")
        }
    }

    mutating func string() throws(FactDecodingError) -> String {
        let length = try count()
        let slice = UnsafeRawBufferPointer(rebasing: base[offset..<(offset + length)])
        offset += length
        guard let text = String(validating: slice, as: UTF8.self) else {
            throw .malformed("a string that is not UTF-8")
        }
        return text
    }

    /// A string whose invalid UTF-8, if any, is replaced rather than refused: for derived data that the store can
    /// verify against the facts (the read model), where this is the faster path of the standard library.
    mutating func repairingString() throws(FactDecodingError) -> String {
        let length = try count()
        let slice = UnsafeRawBufferPointer(rebasing: base[offset..<(offset + length)])
        offset += length
        return String(decoding: slice, as: UTF8.self)
    }

    mutating func optionalString() throws(FactDecodingError) -> String? {
        try bool() ? try string() : nil
    }

    mutating func optionalSigned() throws(FactDecodingError) -> Int64? {
        try bool() ? try signed() : nil
    }
}
