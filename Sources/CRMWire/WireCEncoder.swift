#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CProtobufC

/// Builds the C struct of a message in an arena; the generated `encodeC` calls it field by field.
public struct WireCEncoder {
    @usableFromInline let arena: WireArena
    @usableFromInline let emptyString: UnsafeMutablePointer<CChar>

    init(arena: WireArena) {
        self.arena = arena
        // protobuf-c only reads through this pointer; it is `char *` in the C structs.
        emptyString = UnsafeMutablePointer(mutating: crm_protobuf_c_empty_string())
    }

    /// A NUL-terminated copy of `value`.
    @inlinable
    public func string(_ value: String, field: StaticString) throws(WireEncodingError) -> UnsafeMutablePointer<CChar> {
        var value = value
        let copy: UnsafeMutablePointer<CChar>? = value.withUTF8 { utf8 in
            guard let source = utf8.baseAddress, !utf8.isEmpty else { return emptyString }
            if memchr(source, 0, utf8.count) != nil { return nil }
            let target = arena.allocate(CChar.self, count: utf8.count + 1)
            UnsafeMutableRawPointer(target).copyMemory(from: source, byteCount: utf8.count)
            target[utf8.count] = 0
            return target
        }
        guard let copy else {
            throw WireEncodingError(messageName: "", fieldPath: field.description, reason: .nulInString)
        }
        return copy
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
        for (i, v) in values.enumerated() { (target + i).initialize(to: transform(v)) }
        return target
    }

    /// A C array of NUL-terminated copies of `values`.
    @inlinable
    public func strings(_ values: [String], field: StaticString) throws(WireEncodingError)
        -> UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
    {
        guard !values.isEmpty else { return nil }
        let target = arena.allocate(UnsafeMutablePointer<CChar>?.self, count: values.count)
        for (i, v) in values.enumerated() {
            do {
                (target + i).initialize(to: try string(v, field: field))
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
        for (i, v) in values.enumerated() {
            let element = arena.allocate(M.CMessage.self)
            do {
                try v.encodeC(into: element, encoder: &self)
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
