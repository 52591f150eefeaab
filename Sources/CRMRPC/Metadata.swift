public import CRMWire

/// Key-value pairs that travel with a call: in the request headers, the response headers and the
/// trailers (docs/PROTOCOL.md, section 9). Order is kept and a key may repeat.
///
/// Keys are lower-case ASCII letters, digits, `-`, `_` and `.`. A key ending in `-bin` carries a
/// binary value, every other key a text value of printable ASCII. Keys starting with `crm-` are
/// reserved for the protocol.
///
/// ```swift
/// var metadata = Metadata(["trace-id": "7f3a"])
/// metadata.addBinary("token-bin", [0x01, 0x02])
/// ```
public struct Metadata: Sendable, Hashable, Sequence, CustomStringConvertible {
    /// A metadata value: text for ordinary keys, bytes for keys ending in `-bin`.
    public enum Value: Sendable, Hashable, CustomStringConvertible {
        /// Printable ASCII text.
        case text(String)
        /// Opaque bytes; only for keys ending in `-bin`.
        case binary([UInt8])

        public var description: String {
            switch self {
            case .text(let text): text
            case .binary(let bytes): "<\(bytes.count) bytes>"
            }
        }
    }

    /// One key and its value.
    public struct Entry: Sendable, Hashable {
        /// The key, lower-case.
        public var key: String
        /// The value.
        public var value: Value

        public init(key: String, value: Value) {
            self.key = key
            self.value = value
        }
    }

    /// The entries in sending order.
    public private(set) var entries: [Entry]

    /// No entries.
    public init() {
        entries = []
    }

    /// The given entries, in order.
    public init(_ entries: [Entry]) {
        self.entries = entries
    }

    /// Text entries, in order: `Metadata(["trace-id": "7f3a"])`.
    public init(_ pairs: KeyValuePairs<String, String>) {
        entries = pairs.map { Entry(key: $0.key, value: .text($0.value)) }
    }

    /// Appends a text entry.
    public mutating func add(_ key: String, _ text: String) {
        entries.append(Entry(key: key, value: .text(text)))
    }

    /// Appends a binary entry; `key` should end in `-bin`.
    public mutating func addBinary(_ key: String, _ bytes: [UInt8]) {
        entries.append(Entry(key: key, value: .binary(bytes)))
    }

    /// Appends every entry of `other`.
    public mutating func add(contentsOf other: Metadata) {
        entries.append(contentsOf: other.entries)
    }

    /// Removes every entry with `key`.
    public mutating func removeAll(_ key: String) {
        entries.removeAll { $0.key == key }
    }

    /// Every value of `key`, in order.
    public subscript(key: String) -> [Value] {
        entries.filter { $0.key == key }.map(\.value)
    }

    /// The first text value of `key`, or nil.
    public func firstText(_ key: String) -> String? {
        for entry in entries where entry.key == key {
            if case .text(let text) = entry.value { return text }
        }
        return nil
    }

    /// Whether there are no entries.
    public var isEmpty: Bool { entries.isEmpty }
    /// How many entries there are.
    public var count: Int { entries.count }

    public func makeIterator() -> IndexingIterator<[Entry]> { entries.makeIterator() }

    public var description: String {
        "[" + entries.map { "\($0.key): \($0.value)" }.joined(separator: ", ") + "]"
    }
}

// MARK: Wire form and validation

extension Metadata {
    /// The entries as the protocol's control messages carry them.
    public var wireEntries: [MetadataEntry] {
        entries.map { entry in
            switch entry.value {
            case .text(let text): MetadataEntry(key: entry.key, value: .text(text))
            case .binary(let bytes): MetadataEntry(key: entry.key, value: .binary(bytes))
            }
        }
    }

    /// Metadata received from a peer, checked against section 9; entries with reserved `crm-`
    /// keys are dropped.
    ///
    /// - Throws: `MetadataError` naming the first entry that breaks a rule.
    public init(validating wire: [MetadataEntry]) throws(MetadataError) {
        var entries: [Entry] = []
        entries.reserveCapacity(wire.count)
        for entry in wire {
            try Self.checkKey(entry.key)
            if entry.key.hasPrefix("crm-") { continue }
            let isBinary = entry.key.hasSuffix("-bin")
            switch entry.value {
            case nil:
                entries.append(Entry(key: entry.key, value: isBinary ? .binary([]) : .text("")))
            case .text(let text):
                guard !isBinary else { throw MetadataError(key: entry.key, reason: .textForBinaryKey) }
                try Self.checkText(text, key: entry.key)
                entries.append(Entry(key: entry.key, value: .text(text)))
            case .binary(let bytes):
                guard isBinary else { throw MetadataError(key: entry.key, reason: .binaryForTextKey) }
                entries.append(Entry(key: entry.key, value: .binary(bytes)))
            }
        }
        self.entries = entries
    }

    /// Checks metadata about to be sent: the same rules, and no reserved `crm-` keys.
    public func validate() throws(MetadataError) {
        for entry in entries {
            try Self.checkKey(entry.key)
            if entry.key.hasPrefix("crm-") { throw MetadataError(key: entry.key, reason: .reservedKey) }
            let isBinary = entry.key.hasSuffix("-bin")
            switch entry.value {
            case .text(let text):
                guard !isBinary else { throw MetadataError(key: entry.key, reason: .textForBinaryKey) }
                try Self.checkText(text, key: entry.key)
            case .binary:
                guard isBinary else { throw MetadataError(key: entry.key, reason: .binaryForTextKey) }
            }
        }
    }

    private static func checkKey(_ key: String) throws(MetadataError) {
        guard !key.isEmpty else { throw MetadataError(key: key, reason: .emptyKey) }
        for byte in key.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."):
                continue
            default:
                throw MetadataError(key: key, reason: .invalidKey)
            }
        }
    }

    private static func checkText(_ text: String, key: String) throws(MetadataError) {
        for byte in text.utf8 where byte < 0x20 || byte > 0x7E {
            throw MetadataError(key: key, reason: .nonPrintableText)
        }
    }
}

/// Why metadata breaks the rules of docs/PROTOCOL.md section 9, naming the key.
public struct MetadataError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What is wrong with the entry.
    public enum Reason: Sendable, Hashable {
        /// The key is empty.
        case emptyKey
        /// The key has a character other than lower-case letters, digits, `-`, `_` and `.`.
        case invalidKey
        /// A text value has a byte outside printable ASCII (0x20 to 0x7E).
        case nonPrintableText
        /// A key ending in `-bin` carries a text value.
        case textForBinaryKey
        /// A key not ending in `-bin` carries a binary value.
        case binaryForTextKey
        /// A key starts with the reserved prefix `crm-`.
        case reservedKey
    }

    /// The offending key.
    public var key: String
    /// What is wrong.
    public var reason: Reason

    public init(key: String, reason: Reason) {
        self.key = key
        self.reason = reason
    }

    public var description: String {
        let quoted = "metadata key \"\(key.unicodeScalars.map { $0.escaped(asASCII: true) }.joined())\""
        switch reason {
        case .emptyKey:
            return "a metadata key is empty; keys have at least one character"
        case .invalidKey:
            return "\(quoted) is not valid; keys are lower-case ASCII letters, digits, '-', '_' and '.'"
        case .nonPrintableText:
            return "\(quoted) has a text value with a byte outside printable ASCII (0x20 to 0x7E); "
                + "send bytes under a key ending in -bin"
        case .textForBinaryKey:
            return "\(quoted) ends in -bin but carries a text value; send its value as binary"
        case .binaryForTextKey:
            return "\(quoted) carries a binary value; binary values go under keys ending in -bin"
        case .reservedKey:
            return "\(quoted) starts with crm-, which is reserved for the protocol; choose another key"
        }
    }
}
