/// How a field is laid out on the wire: the low three bits of each field's key.
public enum WireType: Int, Sendable, Hashable, CustomStringConvertible {
    case varint = 0
    case fixed64 = 1
    case lengthDelimited = 2
    case startGroup = 3
    case endGroup = 4
    case fixed32 = 5

    public var description: String {
        switch self {
        case .varint: "varint"
        case .fixed64: "64-bit"
        case .lengthDelimited: "length-delimited"
        case .startGroup: "start-group"
        case .endGroup: "end-group"
        case .fixed32: "32-bit"
        }
    }
}

/// Why bytes could not be decoded as a message: which message, where in it, and what was wrong.
public struct WireDecodingError: Error, Hashable, CustomStringConvertible {
    /// What was wrong with the bytes.
    public enum Reason: Sendable, Hashable {
        /// The encoded message is larger than `WireLimits.maxMessageSize`.
        case messageTooLarge(size: Int, limit: Int)
        /// The bytes end inside a field.
        case truncated
        /// A varint runs past ten bytes.
        case malformedVarint
        /// A field key carries field number 0 or one above 536,870,911.
        case invalidFieldNumber(UInt64)
        /// A field key carries wire type 3 or 4 (groups, which proto3 has not) or 6 or 7 (none).
        case unsupportedWireType(Int)
        /// A known field arrived with a wire type its declared type cannot have.
        case wrongWireType(fieldNumber: Int, expected: WireType, found: WireType)
        /// A packed repeated field's length is not a multiple of its element size.
        case malformedPackedField(fieldNumber: Int)
        /// A string field is not valid UTF-8.
        case invalidUTF8
        /// A string field contains a NUL byte, which protobuf-c's C strings cannot carry.
        case nulInString
        /// Messages are nested deeper than `WireLimits.maxNestingDepth`.
        case nestingTooDeep(limit: Int)
        /// A repeated field holds more than `WireLimits.maxRepeatedCount` elements.
        case tooManyElements(count: Int, limit: Int)
        /// Unpacking would take more than `WireLimits.maxDecodeMemory` bytes.
        case decodeMemoryExceeded(limit: Int)
        /// protobuf-c refused the bytes for a reason the checks above do not name.
        case rejectedByProtobufC
    }

    /// The fully qualified name of the message being decoded, such as `crm.v1.Interaction`.
    public var messageName: String
    /// Where in that message: `items[2].name`; empty for the message as a whole.
    public var fieldPath: String
    /// What was wrong.
    public var reason: Reason

    public init(messageName: String, fieldPath: String, reason: Reason) {
        self.messageName = messageName
        self.fieldPath = fieldPath
        self.reason = reason
    }

    /// The same error seen from the message that holds this one in field `field`.
    public func nested(in field: StaticString, index: Int? = nil) -> WireDecodingError {
        nested(inField: field.description, index: index)
    }

    func nested(inField field: String, index: Int?) -> WireDecodingError {
        var copy = self
        copy.fieldPath = WirePath.prefix(field, index: index, to: fieldPath)
        return copy
    }

    public var description: String {
        let place = fieldPath.isEmpty ? messageName : "\(messageName), field \(fieldPath)"
        return "cannot decode \(place): \(reasonText)"
    }

    private var reasonText: String {
        switch reason {
        case .messageTooLarge(let size, let limit):
            "the message is \(size) bytes, over the limit of \(limit); send smaller messages or stream them"
        case .truncated:
            "the bytes end inside a field; send the whole message"
        case .malformedVarint:
            "a varint is longer than 10 bytes; the bytes are not protobuf"
        case .invalidFieldNumber(let n):
            "field number \(n) is not allowed (1 to 536870911); the bytes are not protobuf"
        case .unsupportedWireType(let t):
            "wire type \(t) is not supported (groups and types 6 and 7 are not proto3)"
        case .wrongWireType(let number, let expected, let found):
            "field \(number) must be \(expected) but arrived \(found); the sender uses another schema"
        case .malformedPackedField(let number):
            "packed field \(number) has a length that is not a whole number of elements"
        case .invalidUTF8:
            "the string is not valid UTF-8; send UTF-8 text"
        case .nulInString:
            "the string contains a NUL byte, which protobuf-c cannot carry; remove it"
        case .nestingTooDeep(let limit):
            "messages are nested more than \(limit) deep"
        case .tooManyElements(let count, let limit):
            "the repeated field has \(count) elements, over the limit of \(limit); split it across messages"
        case .decodeMemoryExceeded(let limit):
            "unpacking would take more than \(limit) bytes of memory; send smaller messages"
        case .rejectedByProtobufC:
            "protobuf-c rejected the bytes"
        }
    }
}

/// Why a message could not be encoded.
public struct WireEncodingError: Error, Hashable, CustomStringConvertible {
    /// What was wrong with the value.
    public enum Reason: Sendable, Hashable {
        /// A string contains a NUL byte, which protobuf-c's C strings cannot carry.
        case nulInString
        /// The encoded message would be larger than `WireLimits.maxMessageSize`.
        case messageTooLarge(size: Int, limit: Int)
    }

    /// The fully qualified name of the message being encoded.
    public var messageName: String
    /// Where in that message: `items[2].name`; empty for the message as a whole.
    public var fieldPath: String
    /// What was wrong.
    public var reason: Reason

    public init(messageName: String, fieldPath: String, reason: Reason) {
        self.messageName = messageName
        self.fieldPath = fieldPath
        self.reason = reason
    }

    /// The same error seen from the message that holds this one in field `field`.
    public func nested(in field: StaticString, index: Int? = nil) -> WireEncodingError {
        var copy = self
        copy.fieldPath = WirePath.prefix(field.description, index: index, to: fieldPath)
        return copy
    }

    public var description: String {
        let place = fieldPath.isEmpty ? messageName : "\(messageName), field \(fieldPath)"
        switch reason {
        case .nulInString:
            return "cannot encode \(place): the string contains a NUL byte, which protobuf-c cannot carry; remove it"
        case .messageTooLarge(let size, let limit):
            return "cannot encode \(place): the message is \(size) bytes, over the limit of \(limit); send smaller messages or stream them"
        }
    }
}

enum WirePath {
    /// `items`, 2, `name` → `items[2].name`.
    static func prefix(_ field: String, index: Int?, to rest: String) -> String {
        let head = index.map { "\(field)[\($0)]" } ?? field
        return rest.isEmpty ? head : "\(head).\(rest)"
    }
}
