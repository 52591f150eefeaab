#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
public import CProtobufC

/// Reads the C struct protobuf-c unpacked into an arena; the generated `init(decodingC:)`
/// calls it field by field. It checks what protobuf-c does not: UTF-8, NUL bytes in
/// strings and the repeated-count limit.
public struct WireCDecoder {
    @usableFromInline let arena: WireArena
    @usableFromInline let limits: WireLimits
    @usableFromInline let emptyString: UnsafeRawPointer

    @usableFromInline
    init(arena: WireArena, limits: WireLimits) {
        self.arena = arena
        self.limits = limits
        emptyString = UnsafeRawPointer(crm_protobuf_c_empty_string())
    }

    /// The string at `pointer`, validated.
    @inlinable
    public func string(_ pointer: UnsafeMutablePointer<CChar>?, field: StaticString) throws(WireDecodingError) -> String {
        guard let pointer, UnsafeRawPointer(pointer) != emptyString else { return "" }
        // String(validatingCString:) takes the stdlib's fast, non-generic UTF-8 check.
        guard let text = String(validatingCString: pointer) else {
            throw WireDecodingError(messageName: "", fieldPath: field.description, reason: .invalidUTF8)
        }
        // protobuf-c allocated the string's length + 1 from the arena, and C stops at the
        // first NUL: a shorter text means the field held a NUL byte.
        if let size = arena.allocationSize(of: pointer), text.utf8.count != size - 1 {
            throw WireDecodingError(messageName: "", fieldPath: field.description, reason: .nulInString)
        }
        return text
    }

    /// The bytes of a `bytes` field.
    @inlinable
    public func bytes(_ data: ProtobufCBinaryData) -> [UInt8] {
        guard data.len > 0, let base = data.data else { return [] }
        return [UInt8](UnsafeBufferPointer(start: base, count: data.len))
    }

    @inlinable
    func checkCount(_ count: Int, field: StaticString) throws(WireDecodingError) {
        if count > limits.maxRepeatedCount {
            throw WireDecodingError(
                messageName: "", fieldPath: field.description,
                reason: .tooManyElements(count: count, limit: limits.maxRepeatedCount))
        }
    }

    /// The values of a repeated numeric field.
    @inlinable
    public func scalars<T>(_ count: Int, _ pointer: UnsafeMutablePointer<T>?, field: StaticString) throws(WireDecodingError) -> [T] {
        try checkCount(count, field: field)
        guard count > 0, let pointer else { return [] }
        return [T](UnsafeBufferPointer(start: pointer, count: count))
    }

    /// `transform` applied to the values of a repeated field (for enums and booleans).
    @inlinable
    public func mapped<C, T>(
        _ count: Int, _ pointer: UnsafeMutablePointer<C>?, field: StaticString, _ transform: (C) -> T
    ) throws(WireDecodingError) -> [T] {
        try checkCount(count, field: field)
        guard count > 0, let pointer else { return [] }
        return UnsafeBufferPointer(start: pointer, count: count).map(transform)
    }

    /// The values of a repeated string field, validated.
    @inlinable
    public func strings(
        _ count: Int, _ pointer: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, field: StaticString
    ) throws(WireDecodingError) -> [String] {
        try checkCount(count, field: field)
        guard count > 0, let pointer else { return [] }
        var out: [String] = []
        out.reserveCapacity(count)
        for i in 0..<count {
            do {
                out.append(try string(pointer[i], field: field))
            } catch {
                var e = error
                e.fieldPath = "\(field)[\(i)]"
                throw e
            }
        }
        return out
    }

    /// The values of a repeated `bytes` field.
    @inlinable
    public func bytesList(
        _ count: Int, _ pointer: UnsafeMutablePointer<ProtobufCBinaryData>?, field: StaticString
    ) throws(WireDecodingError) -> [[UInt8]] {
        try mapped(count, pointer, field: field) { bytes($0) }
    }

    /// A sub-message, or nil when it is absent.
    @inlinable
    public mutating func message<M: WireMessage>(
        _ pointer: UnsafeMutablePointer<M.CMessage>?, as type: M.Type, field: StaticString
    ) throws(WireDecodingError) -> M? {
        guard let pointer else { return nil }
        do {
            return try M(decodingC: pointer, decoder: &self)
        } catch {
            throw error.nested(in: field)
        }
    }

    /// The sub-message a oneof chose; protobuf-c always allocates it, but a message at its
    /// defaults stands in should the pointer ever be null.
    @inlinable
    public mutating func chosenMessage<M: WireMessage>(
        _ pointer: UnsafeMutablePointer<M.CMessage>?, as type: M.Type, field: StaticString
    ) throws(WireDecodingError) -> M {
        try message(pointer, as: type, field: field) ?? M()
    }

    /// The sub-messages of a repeated message field.
    @inlinable
    public mutating func messages<M: WireMessage>(
        _ count: Int, _ pointer: UnsafeMutablePointer<UnsafeMutablePointer<M.CMessage>?>?, as type: M.Type,
        field: StaticString
    ) throws(WireDecodingError) -> [M] {
        try checkCount(count, field: field)
        guard count > 0, let pointer else { return [] }
        var out: [M] = []
        out.reserveCapacity(count)
        for i in 0..<count {
            guard let element = pointer[i] else { continue }
            do {
                out.append(try M(decodingC: element, decoder: &self))
            } catch {
                throw error.nested(in: field, index: i)
            }
        }
        return out
    }
}
