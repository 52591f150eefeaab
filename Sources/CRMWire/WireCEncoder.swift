#if canImport(Glibc)
public import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
public import CProtobufC

/// Builds the C struct of a message in an arena; the generated `encodeC` calls it field by field.
public struct WireCEncoder {
    @usableFromInline let arena: WireArena
    @usableFromInline let emptyString: UnsafeMutablePointer<CChar>

    @usableFromInline
    init(arena: WireArena) {
        self.arena = arena
        // protobuf-c only reads through this pointer; it is `char *` in the C structs.
        emptyString = UnsafeMutablePointer(mutating: crm_protobuf_c_empty_string())
    }

    /// A NUL-terminated copy of `value`.
    @inlinable
    public func string(_ value: String, field: StaticString) throws(WireEncodingError) -> UnsafeMutablePointer<CChar> {
        let copy: UnsafeMutablePointer<CChar>? = value.utf8.withContiguousStorageIfAvailable { utf8 in
            let count = utf8.count
            guard let source = utf8.baseAddress, count > 0 else { return emptyString }
            if count > 64 {
                if memchr(source, 0, count) != nil { return nil }
            } else if Self.containsNUL(source, count) {
                return nil
            }
            let target = arena.allocate(CChar.self, count: count + 1)
            UnsafeMutableRawPointer(target).copyMemory(from: source, byteCount: count)
            target[count] = 0
            return target
        } ?? copyBridged(value)
        guard let copy else {
            throw WireEncodingError(messageName: "", fieldPath: field.description, reason: .nulInString)
        }
        return copy
    }

    /// Whether `count` bytes at `bytes` hold a zero byte, eight at a time: most fields are
    /// short, and for them this beats a call to `memchr`.
    @inlinable
    static func containsNUL(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> Bool {
        let raw = UnsafeRawPointer(bytes)
        var i = 0
        while i + 8 <= count {
            let word = raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            // A byte of `word` is zero exactly when this leaves its high bit set.
            if (word &- 0x0101_0101_0101_0101) & ~word & 0x8080_8080_8080_8080 != 0 { return true }
            i += 8
        }
        while i < count {
            if bytes[i] == 0 { return true }
            i += 1
        }
        return false
    }

    /// The slow path for a string without contiguous UTF-8 (one bridged from another
    /// representation): nil when it contains a NUL byte.
    @usableFromInline
    func copyBridged(_ value: String) -> UnsafeMutablePointer<CChar>? {
        let utf8 = Array(value.utf8)
        if utf8.contains(0) { return nil }
        let target = arena.allocate(CChar.self, count: utf8.count + 1)
        for (i, byte) in utf8.enumerated() { target[i] = CChar(bitPattern: byte) }
        target[utf8.count] = 0
        return target
    }

    /// A NUL-terminated copy of `value` for the chosen field of a oneof. protobuf-c does not
    /// send a chosen string whose pointer is the shared empty default, so even an empty
    /// one is copied.
    @inlinable
    public func chosenString(_ value: String, field: StaticString) throws(WireEncodingError) -> UnsafeMutablePointer<CChar> {
        guard value.isEmpty else { return try string(value, field: field) }
        let target = arena.allocate(CChar.self, count: 1)
        target.initialize(to: 0)
        return target
    }

    /// A copy of `value` for a `bytes` field.
    @inlinable
    public func bytes(_ value: [UInt8]) -> ProtobufCBinaryData {
        guard !value.isEmpty else { return ProtobufCBinaryData(len: 0, data: nil) }
        let target = arena.allocate(UInt8.self, count: value.count)
        value.withUnsafeBufferPointer { target.update(from: $0.baseAddress!, count: $0.count) }
        return ProtobufCBinaryData(len: value.count, data: target)
    }

    /// A C array of the values of a repeated numeric field.
    @inlinable
    public func scalars<T>(_ values: [T]) -> UnsafeMutablePointer<T>? {
        guard !values.isEmpty else { return nil }
        let target = arena.allocate(T.self, count: values.count)
        values.withUnsafeBufferPointer { target.initialize(from: $0.baseAddress!, count: $0.count) }
        return target
    }

    /// A C array of `transform` applied to each value (for enums and booleans).
    @inlinable
    public func mapped<T, C>(_ values: [T], _ transform: (T) -> C) -> UnsafeMutablePointer<C>? {
        guard !values.isEmpty else { return nil }
        let target = arena.allocate(C.self, count: values.count)
        for i in values.indices { (target + i).initialize(to: transform(values[i])) }
        return target
    }

    /// A C array of NUL-terminated copies of `values`.
    @inlinable
    public func strings(_ values: [String], field: StaticString) throws(WireEncodingError)
        -> UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
    {
        guard !values.isEmpty else { return nil }
        let target = arena.allocate(UnsafeMutablePointer<CChar>?.self, count: values.count)
        for i in values.indices {
            do {
                (target + i).initialize(to: try string(values[i], field: field))
            } catch {
                var e = error
                e.fieldPath = "\(field)[\(i)]"
                throw e
            }
        }
        return target
    }

    /// A C array of copies of `values` for a repeated `bytes` field.
    @inlinable
    public func bytesList(_ values: [[UInt8]]) -> UnsafeMutablePointer<ProtobufCBinaryData>? {
        mapped(values) { bytes($0) }
    }

    /// The C struct of a sub-message.
    @inlinable
    public mutating func message<M: WireMessage>(_ value: M, field: StaticString) throws(WireEncodingError)
        -> UnsafeMutablePointer<M.CMessage>
    {
        let target = arena.allocate(M.CMessage.self)
        do {
            try value.encodeC(into: target, encoder: &self)
        } catch {
            throw error.nested(in: field)
        }
        return target
    }

    /// A C array of pointers to the C structs of `values`.
    @inlinable
    public mutating func messages<M: WireMessage>(_ values: [M], field: StaticString) throws(WireEncodingError)
        -> UnsafeMutablePointer<UnsafeMutablePointer<M.CMessage>?>?
    {
        guard !values.isEmpty else { return nil }
        let target = arena.allocate(UnsafeMutablePointer<M.CMessage>?.self, count: values.count)
        // By index, not `for v in values`, which would copy (and retain) every element.
        for i in values.indices {
            let element = arena.allocate(M.CMessage.self)
            do {
                try values[i].encodeC(into: element, encoder: &self)
            } catch {
                throw error.nested(in: field, index: i)
            }
            (target + i).initialize(to: element)
        }
        return target
    }

    /// Encodes `value` as the root: its C struct.
    @usableFromInline
    mutating func root<M: WireMessage>(_ value: M) throws(WireEncodingError) -> UnsafeMutablePointer<M.CMessage> {
        let target = arena.allocate(M.CMessage.self)
        do {
            try value.encodeC(into: target, encoder: &self)
        } catch {
            var e = error
            e.messageName = M.protoName
            throw e
        }
        return target
    }
}
